/**
 * The post-training integer linear's element kernels against their scalar
 * reference (`src/ops/quantized_matmul.ts`), exactly, over the manifest's
 * sizes — including NaN-free extremes that saturate both ends of the codes.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  allQuantizedKernels,
  QUANTIZED_SIZES,
} from "../../../src/codegen/quantized/manifest.ts";
import {
  type DequantiseColumns,
  generateDequantiseColumns,
} from "../../../src/codegen/quantized/dequantise_columns.ts";
import { generateQuantiseCodes } from "../../../src/codegen/quantized/linear_codes.ts";
import { centredCode } from "../../../src/ops/quantized_matmul.ts";
import { arena, seeded, uniform } from "../f32/helpers.ts";

Deno.test("every quantized kernel validates, private and shared, uniquely named", () => {
  for (const shared of [false, true]) {
    const kernels = allQuantizedKernels({ shared });
    for (const k of kernels) {
      assert.ok(WebAssembly.validate(k.bytes), k.name);
      assert.match(k.listing(), new RegExp(`^\\(func \\$${k.name} `));
    }
    assert.deepEqual(kernels.map((k) => k.name), [
      "quantise_codes",
      "dequantise_columns",
      "dequantise_columns_bias",
    ]);
  }
});

Deno.test("quantise_codes = the reference's centred codes, every size and width", async () => {
  const a = arena();
  const quantise = await generateQuantiseCodes().instantiate(a.memory);
  const rand = seeded(3);
  for (const n of QUANTIZED_SIZES) {
    const x = uniform(n, rand, -30, 30);
    x[0] = 1e30; // saturates high
    if (n > 1) x[1] = -1e30; // saturates low
    const xAt = a.f32(x);
    const codesAt = a.alloc(n + 16);
    for (
      const [bits, scale, zero] of [[8, 0.07, 131], [6, 0.3, 20], [2, 4, 1], [
        4,
        0.9,
        7.5,
      ]]
    ) {
      const half = Math.fround(zero + 0.5);
      const qmax = 2 ** bits - 1;
      quantise(xAt, codesAt, n, Math.fround(scale), half, qmax);
      const got = new Int8Array(a.memory.buffer, codesAt, n);
      const want = Int8Array.from(
        x,
        (v) => centredCode(v, Math.fround(scale), half, qmax),
      );
      assert.deepEqual(got, want, `n ${n}, ${bits} bits`);
    }
  }
});

Deno.test("dequantise_columns = f32((acc + shift)·factor) [+ bias], transposed back", async () => {
  const a = arena();
  const rand = seeded(9);
  for (const bias of [false, true]) {
    const run = await generateDequantiseColumns(bias).instantiate(
      a.memory,
    ) as DequantiseColumns;
    for (const n of QUANTIZED_SIZES.filter((s) => s <= 256)) {
      for (const m of [1, 5, 17, 130]) {
        const acc = Int32Array.from(
          { length: m * n },
          () => Math.round((rand() - 0.5) * 2 ** 24),
        );
        const shift = Float64Array.from({ length: n }, () => rand() * 1e5);
        const factor = Float64Array.from(
          { length: n },
          () => Math.fround(rand()) * Math.fround(rand() * 1e-4),
        );
        const b = uniform(n, rand, -3, 3);
        const accAt = a.i32(acc);
        const at64 = (v: Float64Array) => {
          const p = a.alloc(v.length * 8 + 8);
          const aligned = Math.ceil(p / 8) * 8;
          new Float64Array(a.memory.buffer, aligned, v.length).set(v);
          return aligned;
        };
        const [shiftAt, factorAt] = [at64(shift), at64(factor)];
        const biasAt = a.f32(b);
        const yAt = a.alloc(m * n * 4);
        run(accAt, yAt, shiftAt, factorAt, m, n, biasAt);
        const want = new Float32Array(m * n);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            want[i * n + j] = (acc[j * m + i] + shift[j]) * factor[j];
            if (bias) want[i * n + j] += b[j];
          }
        }
        assert.deepEqual(a.readF32(yAt, m * n), want, `${m}×${n} bias ${bias}`);
      }
    }
  }
});
