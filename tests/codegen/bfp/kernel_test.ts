import assert from "node:assert/strict";
import {
  benchBfp,
  BFP_EDGE_LENGTHS,
  BFP_MANIFEST,
  BfpError,
  BfpKernel,
  type BfpParams,
  checkBfpParams,
  generateBfp,
  referenceDequantise,
  referenceMaxAbs,
  referenceQuantise,
} from "../../../src/codegen/bfp/mod.ts";
import { firstMismatch, seeded } from "./helpers.ts";

/**
 * Values that exercise every rounding path: dyadic integers over a power of
 * two (so x/Δ lands on ties, quarters and integers), exact ± group maxima,
 * signed zeros, subnormals and values at the clamp.
 */
function edgeValues(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  const ranges = [3, 300, 40000];
  for (let i = 0; i < n; i++) {
    const pick = rand();
    const shift = Math.floor(rand() * 12) - 6;
    if (pick < 0.05) out[i] = rand() < 0.5 ? 0 : -0;
    else if (pick < 0.08) out[i] = (rand() < 0.5 ? -1 : 1) * 1e-45;
    else if (pick < 0.12) out[i] = (rand() < 0.5 ? -1 : 1) * 255.9 * 2 ** shift;
    else {
      const r = ranges[Math.floor(rand() * ranges.length)];
      out[i] = Math.floor(rand() * (2 * r + 1) - r) * 2 ** shift;
    }
  }
  return out;
}

const kernels = new Map<string, BfpKernel>();
async function kernelFor(p: BfpParams): Promise<BfpKernel> {
  const key = JSON.stringify(p);
  if (!kernels.has(key)) kernels.set(key, await BfpKernel.create(p));
  return kernels.get(key)!;
}

Deno.test("every manifest module validates, with private and shared memory", () => {
  for (const params of BFP_MANIFEST) {
    for (const shared of [false, true]) {
      assert.ok(WebAssembly.validate(generateBfp(params, { shared }).bytes));
    }
  }
  assert.equal(BFP_MANIFEST.length, 18);
});

Deno.test("kernel names encode width, rounding and granularity; listings show the rounding", () => {
  const sr = generateBfp({ bits: 8, rounding: "sr", granularity: "row" });
  assert.deepEqual(sr.names, {
    maxAbs: "bfp_maxabs_row",
    map: "bfp_map_b8_sr_row",
    unmap: "bfp_unmap_b8_row",
  });
  const srText = sr.listing(sr.names.map);
  assert.match(srText, /^\(func \$bfp_map_b8_sr_row /);
  assert.match(srText, /f32x4\.floor/);

  assert.match(srText, /i8x16\.narrow_i16x8_s/);
  const rne = generateBfp({ bits: 12, rounding: "rne", granularity: "col" });
  const rneText = rne.listing(rne.names.map);
  assert.match(rneText, /f32x4\.add/);
  assert.doesNotMatch(rneText, /f32x4\.floor/);
  assert.doesNotMatch(rneText, /i8x16\.narrow/);
  assert.match(rne.listing("bfp_maxabs_col"), /f32x4\.abs/);
  assert.throws(
    () =>
      checkBfpParams(
        {
          bits: 10,
          rounding: "rne",
          granularity: "row",
        } as unknown as BfpParams,
      ),
    BfpError,
  );
});

Deno.test("WASM max-abs, map and unmap equal the scalar reference bit for bit over the edge sweep", async () => {
  const rand = seeded(12345);
  for (const params of BFP_MANIFEST) {
    const k = await kernelFor(params);
    for (const rows of [0, 1, 2, 3, 5]) {
      for (const cols of BFP_EDGE_LENGTHS) {
        const x = edgeValues(rows * cols, rand);
        const opts = { seed: 99, counterBase: 1000 * rows };
        const what = `${k.module.names.map} ${rows}×${cols}`;
        const want = referenceQuantise(x, rows, cols, params, opts);
        const got = k.quantise(x, rows, cols, opts);
        assert.deepEqual(got.exponents, want.exponents, what);
        assert.equal(firstMismatch(got.q, want.q), -1, what);
        assert.equal(
          firstMismatch(
            k.maxAbs(x, rows, cols),
            referenceMaxAbs(x, rows, cols, params.granularity),
          ),
          -1,
          what,
        );
        assert.equal(
          firstMismatch(k.dequantise(want), referenceDequantise(want)),
          -1,
          what,
        );
      }
    }
  }
});

Deno.test("WASM map is exact for tensors far below and near the top of the f32 range", async () => {
  const rand = seeded(7);
  for (const scale of [2 ** -140, 2 ** -120, 2 ** 100, 2 ** 120]) {
    for (const params of BFP_MANIFEST) {
      const k = await kernelFor(params);
      const x = Float32Array.from(
        edgeValues(37 * 3, rand),
        (v) => v * scale / 65536,
      );
      const want = referenceQuantise(x, 3, 37, params, { seed: 5 });
      const got = k.quantise(x, 3, 37, { seed: 5 });
      assert.equal(
        firstMismatch(got.q, want.q),
        -1,
        `${k.module.names.map} ×${scale}`,
      );
      assert.equal(
        firstMismatch(k.dequantise(want), referenceDequantise(want)),
        -1,
      );
    }
  }
});

Deno.test("WASM map refuses a group holding NaN or infinity", async () => {
  for (const granularity of ["tensor", "row", "col"] as const) {
    const k = await kernelFor({ bits: 8, rounding: "rne", granularity });
    for (const bad of [NaN, Infinity]) {
      const x = new Float32Array(40).fill(1);
      x[23] = bad;
      assert.throws(() => k.quantise(x, 2, 20), /NaN or infinity/);
    }
  }
});

Deno.test("a row block mapped with its counter base equals the same rows of the whole map", async () => {
  const k = await kernelFor({ bits: 8, rounding: "sr", granularity: "row" });
  const rows = 6, cols = 37;
  const x = edgeValues(rows * cols, seeded(3));
  const whole = k.quantise(x, rows, cols, { seed: 11 });
  const block = k.quantise(x.subarray(2 * cols, 5 * cols), 3, cols, {
    seed: 11,
    counterBase: 2 * cols,
  });
  assert.deepEqual(block.q, whole.q.subarray(2 * cols, 5 * cols));
});

Deno.test("benchBfp runs every requested kernel set and reports positive times", async () => {
  const rows = await benchBfp({
    rows: 4,
    cols: 33,
    repeats: 1,
    kernels: BFP_MANIFEST.slice(0, 2),
  });
  assert.deepEqual(rows.map((r) => r.kernel), [
    "bfp_map_b8_rne_tensor",
    "bfp_map_b8_rne_row",
  ]);
  for (const r of rows) assert.ok(r.mapMs >= 0 && r.unmapMs >= 0);
});
