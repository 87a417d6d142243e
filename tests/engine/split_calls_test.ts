/**
 * Kernels split between threads by ranges of units (`EngineThreads.split`):
 * GELU by 16-element groups, LayerNorm and the stochastic BFP map by rows
 * (its PRNG counters advancing with them), the int8 and f32 packers by
 * panels, the f32 per-head products by heads — each with the very specs the engine's kernels use, on sizes
 * whose last chunk is ragged, must write exactly what one whole call
 * writes; a packer's out-of-range flag raised in any chunk must come back.
 */

import assert from "node:assert/strict";
import {
  type GemmParams,
  generateGemm,
  packedASize,
  packedBSize,
  selectF32Params,
  selectF32Variant,
} from "../../src/codegen/gemm/mod.ts";
import {
  generateActivation,
  generateLayerNormFwd,
} from "../../src/codegen/f32/mod.ts";
import {
  generateBfp,
  mapFactors,
  prngKeys,
} from "../../src/codegen/bfp/mod.ts";
import {
  BATCH_SPLIT,
  batchLayout,
} from "../../runtime/engine/kernels/batched_matmul.ts";
import { bfpRowSplit } from "../../runtime/engine/kernels/bfp_module.ts";
import { packSplit } from "../../runtime/engine/kernels/gemm_source.ts";
import {
  elementwiseSplit,
  rowwiseSplit,
} from "../../runtime/engine/kernels/generated.ts";
import {
  EngineThreads,
  threadRegionBytes,
} from "../../runtime/engine/threads.ts";

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

/** A shared memory, its thread region at 0, and a bump allocator after it. */
function sharedMemory() {
  const memory = new WebAssembly.Memory({
    initial: 2048,
    maximum: 2048,
    shared: true,
  });
  let top = Math.ceil(threadRegionBytes(2) / 64) * 64;
  const take = (bytes: number) => {
    const at = top;
    top += Math.ceil(bytes / 64) * 64;
    return at;
  };
  return { memory, take };
}

async function exportOf(
  bytes: Uint8Array<ArrayBuffer>,
  name: string,
  memory: WebAssembly.Memory,
) {
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { module, fn: instance.exports[name] as Fn };
}

function fill(memory: WebAssembly.Memory, at: number, n: number, seed: number) {
  const f = new Float32Array(memory.buffer, at, n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    f[i] = (s / 2 ** 32 - 0.5) * 8;
  }
}

/** Asserts `n` bytes at `got` equal those at `want`, naming the first difference. */
function sameBytes(
  memory: WebAssembly.Memory,
  got: number,
  want: number,
  n: number,
  what: string,
) {
  const a = new Uint8Array(memory.buffer, got, n);
  const b = new Uint8Array(memory.buffer, want, n);
  const at = a.findIndex((v, i) => v !== b[i]);
  assert.equal(at, -1, `${what}: byte ${at} of ${n} differs`);
}

Deno.test("split GELU, LayerNorm and packers equal one whole call bit for bit", async () => {
  const { memory, take } = sharedMemory();
  const threads = new EngineThreads(memory, 2, 0);
  const gelu = generateActivation("gelu_fwd", { shared: true });
  const ln = generateLayerNormFwd({ hidden: 96 }, { shared: true });
  const f32: GemmParams = {
    family: "f32",
    variant: selectF32Variant(),
    mr: 6,
    nr: 8,
    output: "f32",
    kUnroll: 4,
  };
  const s8: GemmParams = {
    family: "s8s8",
    variant: "relaxed",
    mr: 3,
    nr: 12,
    output: "f32",
    kUnroll: 2,
  };
  const g = await exportOf(gelu.bytes, gelu.name, memory);
  const l = await exportOf(ln.bytes, ln.name, memory);
  const gemmF32 = generateGemm(f32, true), gemmS8 = generateGemm(s8, true);
  const pf = await exportOf(gemmF32.bytes, "packA", memory);
  const pfb = await exportOf(gemmF32.bytes, "packB", memory);
  const ps = await exportOf(gemmS8.bytes, "packA", memory);
  const psb = await exportOf(gemmS8.bytes, "packB", memory);
  const split = {
    gelu: threads.split(g.module, gelu.name, g.fn, elementwiseSplit(2, [0, 1])),
    ln: threads.split(
      l.module,
      ln.name,
      l.fn,
      rowwiseSplit(6, [[0, 4 * 96], [3, 4 * 96], [4, 4], [5, 4]]),
    ),
    packAF32: threads.split(pf.module, "packA", pf.fn, packSplit(f32, "a")),
    packBF32: threads.split(pfb.module, "packB", pfb.fn, packSplit(f32, "b")),
    packAS8: threads.split(ps.module, "packA", ps.fn, packSplit(s8, "a")),
    packBS8: threads.split(psb.module, "packB", psb.fn, packSplit(s8, "b")),
  };
  await threads.start();
  try {
    // GELU on a ragged element count: chunks of 16-element groups, odd tail.
    const n = 300_007;
    const x = take(4 * n), y1 = take(4 * n), y2 = take(4 * n);
    fill(memory, x, n, 1);
    g.fn(x, y1, n);
    split.gelu(x, y2, n);
    sameBytes(memory, y2, y1, 4 * n, "GELU");

    // LayerNorm on 1,001 rows of 96, statistics included.
    const rows = 1001, h = 96;
    const lx = take(4 * rows * h), gamma = take(4 * h), beta = take(4 * h);
    fill(memory, lx, rows * h, 2);
    fill(memory, gamma, h, 3);
    fill(memory, beta, h, 4);
    const outs = [0, 1].map(() => ({
      y: take(4 * rows * h),
      mean: take(4 * rows),
      rstd: take(4 * rows),
    }));
    l.fn(lx, gamma, beta, outs[0].y, outs[0].mean, outs[0].rstd, rows, 1e-5);
    split.ln(
      lx,
      gamma,
      beta,
      outs[1].y,
      outs[1].mean,
      outs[1].rstd,
      rows,
      1e-5,
    );
    for (const key of ["y", "mean", "rstd"] as const) {
      const bytes = (key === "y" ? rows * h : rows) * 4;
      sameBytes(memory, outs[1][key], outs[0][key], bytes, `LayerNorm ${key}`);
    }
    const before = threads.splitKernelCalls;
    assert.ok(before >= 2, "GELU and LayerNorm were split");

    // Packers: a plain and a transposed source, ragged lines and k.
    for (const [lines, kLen] of [[1003, 517], [2050, 131]]) {
      const src = take(4 * lines * kLen);
      fill(memory, src, lines * kLen, lines);
      const i8 = new Int8Array(memory.buffer, src, lines * kLen);
      for (let i = 0; i < i8.length; i++) i8[i] = i8[i] === -128 ? 0 : i8[i];
      const cases: [Fn, Fn, number, GemmParams][] = [
        [pf.fn, split.packAF32, packedASize(f32, lines, kLen), f32],
        [pfb.fn, split.packBF32, packedBSize(f32, kLen, lines), f32],
        [ps.fn, split.packAS8, packedASize(s8, lines, kLen), s8],
        [psb.fn, split.packBS8, packedBSize(s8, kLen, lines), s8],
      ];
      for (const [whole, parts, size, p] of cases) {
        for (const [lineStride, kStride] of [[kLen, 1], [1, lines]]) {
          const [d1, d2] = [take(size), take(size)];
          const r1 = whole(src, lineStride, kStride, lines, kLen, d1);
          const r2 = parts(src, lineStride, kStride, lines, kLen, d2);
          const what =
            `${p.family} ${lines}×${kLen} strides ${lineStride},${kStride}`;
          assert.equal(r2, r1, what);
          sameBytes(memory, d2, d1, size, what);
        }
      }
      assert.ok(threads.splitKernelCalls > before, "the packers were split");
    }

    // An int8 A value of −128 near the end lands in a late chunk: the flag
    // the exact kernel's packer raises must still reach the caller.
    const [lines, kLen] = [3000, 200];
    const src = take(lines * kLen);
    new Int8Array(memory.buffer, src, lines * kLen).fill(5)[lines * kLen - 7] =
      -128;
    const d = take(packedASize(s8, lines, kLen));
    assert.equal(ps.fn(src, kLen, 1, lines, kLen, d), 1);
    assert.equal(split.packAS8(src, kLen, 1, lines, kLen, d), 1);
  } finally {
    threads.close();
  }
});

Deno.test("a split stochastic BFP map draws what one whole call draws", async () => {
  const { memory, take } = sharedMemory();
  const threads = new EngineThreads(memory, 2, 0);
  const splits = [];
  for (const bits of [8, 12] as const) {
    const m = generateBfp(
      { bits, rounding: "sr", granularity: "tensor" },
      { shared: true },
    );
    const map = await exportOf(m.bytes, m.names.map, memory);
    const unmap = await exportOf(m.bytes, m.names.unmap, memory);
    splits.push({
      bits,
      map,
      unmap,
      splitMap: threads.split(
        map.module,
        m.names.map,
        map.fn,
        bfpRowSplit(bits, "map"),
      ),
      splitUnmap: threads.split(
        unmap.module,
        m.names.unmap,
        unmap.fn,
        bfpRowSplit(bits, "unmap"),
      ),
    });
  }
  await threads.start();
  try {
    const [rows, cols] = [777, 333];
    const x = take(4 * rows * cols);
    fill(memory, x, rows * cols, 9);
    const scales = take(8);
    const f32 = new Float32Array(memory.buffer);
    [f32[scales / 4], f32[scales / 4 + 1]] = mapFactors(3, 8);
    const keys = prngKeys(12345);
    for (const { bits, map, unmap, splitMap, splitUnmap } of splits) {
      const bytes = rows * cols * (bits === 8 ? 1 : 2);
      const [q1, q2] = [take(bytes), take(bytes)];
      // A counter base near 2^32 wraps inside the call, as the reference's does.
      const base = 2 ** 32 - 1000;
      map.fn(x, q1, rows, cols, scales, base, ...keys);
      splitMap(x, q2, rows, cols, scales, base, ...keys);
      sameBytes(memory, q2, q1, bytes, `BFP${bits} map`);
      const [y1, y2] = [take(4 * rows * cols), take(4 * rows * cols)];
      unmap.fn(q1, y1, rows, cols, scales);
      splitUnmap(q1, y2, rows, cols, scales);
      sameBytes(memory, y2, y1, 4 * rows * cols, `BFP${bits} unmap`);
    }
    assert.equal(threads.splitKernelCalls, 4);
  } finally {
    threads.close();
  }
});

Deno.test("a split batch of per-head products equals one whole call bit for bit", async () => {
  const { memory, take } = sharedMemory();
  const threads = new EngineThreads(memory, 2, 0);
  const f32 = selectF32Params();
  const module = generateGemm(f32, true);
  const batch = await exportOf(module.bytes, "gemmBatch", memory);
  const split = threads.split(batch.module, "gemmBatch", batch.fn, BATCH_SPLIT);
  await threads.start();
  try {
    // 33 heads: the last chunk is ragged. B is read transposed (as Kᵀ).
    const [count, m, k, n] = [33, 128, 64, 96];
    const { workStep, aAt, bAt } = batchLayout(f32, m, k, n);
    const a = take(4 * count * m * k), b = take(4 * count * k * n);
    fill(memory, a, count * m * k, 11);
    fill(memory, b, count * k * n, 12);
    const outs = [0, 1].map(() => take(4 * count * m * n));
    const works = [0, 1].map(() => take(count * workStep));
    const args = (c: number, work: number) => [
      a,
      k,
      1,
      4 * m * k,
      b,
      1,
      k,
      4 * k * n,
      c,
      4 * m * n,
      count,
      m,
      k,
      n,
      work,
      workStep,
      aAt,
      bAt,
      4,
    ];
    batch.fn(...args(outs[0], works[0]));
    split(...args(outs[1], works[1]));
    assert.equal(threads.splitKernelCalls, 1);
    sameBytes(memory, outs[1], outs[0], 4 * count * m * n, "gemmBatch");
  } finally {
    threads.close();
  }
});
