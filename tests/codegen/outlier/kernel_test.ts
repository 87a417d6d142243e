import assert from "node:assert/strict";
import {
  benchOutlier,
  forwardProducts,
  gradWeightProducts,
  OutlierError,
  type OutlierInput,
  OutlierLinear,
  OutlierQuantiser,
  quantiseWeight,
  referenceProducts,
  referenceSplit,
  referenceTile,
  splitPrologue,
  tilePrologue,
  tileRemainder,
} from "../../../src/codegen/outlier/mod.ts";
import {
  BfpKernel,
  generateBfp,
  referenceQuantise,
} from "../../../src/codegen/bfp/mod.ts";
import { firstMismatch, seeded } from "../bfp/helpers.ts";
import { nextF32, normals, plantedActivations } from "./planted.ts";

/** Values at and next to the k boundaries (2n+1)γ up to the int16 limit, both signs. */
function boundaryValues(gamma = 5): Float32Array {
  const out: number[] = [0, -0, 1e-45, gamma / 2, -gamma / 2];
  for (const n of [0, 1, 2, 4, 9, 126, 127, 128, 1234, 9999, 32766]) {
    const b = (2 * n + 1) * gamma;
    for (const v of [b, -b]) out.push(v, nextF32(v, 1), nextF32(v, -1));
  }
  const rand = seeded(21);
  for (let i = 0; i < 2000; i++) {
    const v = Math.fround(
      (rand() - 0.5) * 2 * 10 ** (rand() * 5.5) * gamma / 5,
    );
    out.push(v, nextF32(v, 1));
    const n = Math.floor(rand() * 20000) - 10000;
    out.push(nextF32(Math.fround((2 * n + 1) * gamma), rand() < 0.5 ? 1 : -1));
  }
  return Float32Array.from(out);
}

Deno.test("the split and tile prologue modules validate and carry γ in their names", () => {
  const tile = generateBfp(
    { bits: 8, rounding: "sr", granularity: "tensor" },
    { prologue: tilePrologue(5) },
  );
  assert.ok(WebAssembly.validate(tile.bytes));
  assert.equal(tile.names.map, "outlier_tile_g5_bfp_map_b8_sr_tensor");
  const split = generateBfp(
    { bits: 8, rounding: "rne", granularity: "tensor" },
    { prologue: splitPrologue(2.5) },
  );
  assert.ok(WebAssembly.validate(split.bytes));
  assert.equal(split.names.maxAbs, "outlier_split_g2p5_bfp_maxabs_tensor");
});

Deno.test("the WASM tile prologue computes the exact remainder at every boundary, for several γ", async () => {
  const rowMap = { bits: 16, rounding: "rne", granularity: "row" } as const;
  for (const gamma of [5, 6, 2.5, 3.5, 0.75, 12.5, 96]) {
    const x = boundaryValues(gamma);
    const r = Float32Array.from(x, (v) => tileRemainder(v, gamma));
    const k = await BfpKernel.create(rowMap, { prologue: tilePrologue(gamma) });
    // One element per row: the row max-abs is |r| exactly, and the row's
    // BFP16 value carries the sign (r = γ and r = −γ look alike in |r|).
    const got = k.maxAbs(x, x.length, 1);
    const want = r.map(Math.abs);
    const at = firstMismatch(got, want);
    assert.equal(
      at,
      -1,
      `γ ${gamma}, x = ${x[at]}: got ${got[at]}, want ${want[at]}`,
    );
    const q = k.quantise(x, x.length, 1).q;
    const qAt = firstMismatch(q, referenceQuantise(r, r.length, 1, rowMap).q);
    assert.equal(
      qAt,
      -1,
      `γ ${gamma}, x = ${x[qAt]}: sign or value of r differs`,
    );
  }
});

Deno.test("WASM split and tile equal the references bit for bit (rne and sr, odd shapes)", async () => {
  for (const rounding of ["rne", "sr"] as const) {
    const q = await OutlierQuantiser.create({ rounding });
    const shapes: [number, number][] = [[1, 1], [3, 17], [7, 33], [16, 64]];
    for (const [rows, cols] of shapes) {
      const x = plantedActivations(rows, cols, [0, cols - 1], 0.02, 40, rows);
      const b = boundaryValues();
      for (let i = 0; i < Math.min(b.length, x.length); i += 3) x[i] = b[i];
      const opts = { rounding, seed: 3 };
      assert.deepEqual(
        q.split(x, rows, cols, opts),
        referenceSplit(x, rows, cols, opts),
      );
      assert.deepEqual(
        q.tile(x, rows, cols, opts),
        referenceTile(x, rows, cols, opts),
      );
    }
    assert.throws(() => q.tile(Float32Array.of(1, 5e5), 1, 2), OutlierError);
    assert.throws(
      () => q.split(Float32Array.of(1, NaN), 1, 2),
      /NaN or infinity/,
    );
  }
});

Deno.test("an element at -γ alone does not make its column a k column", async () => {
  const q = await OutlierQuantiser.create();
  const x = Float32Array.from([-5, 1, 2, 7, -5, 0]); // 2 × 3
  const t = q.tile(x, 2, 3);
  assert.deepEqual([...t.columns], [0]);
  assert.deepEqual(t, referenceTile(x, 2, 3));
});

Deno.test("WASM forward and weight-gradient products equal the scalar reference, int16 k included", async () => {
  const lin = await OutlierLinear.create();
  const q = await OutlierQuantiser.create();
  const m = 9, k = 40, n = 13;
  const x = plantedActivations(m, k, [3, 17], 0.04, 30, 8);
  x[5] = 2000; // |k| = 200 > 127: int16 route
  x[3 * k + 17] = -1500;
  const w = quantiseWeight(normals(k * n, 0.05, seeded(4)), k, n);
  const g = quantiseWeight(normals(m * n, 1e-3, seeded(6)), m, n);
  const t = q.tile(x, m, k);
  assert.equal(t.wideCount, 2);
  assert.ok(t.k instanceof Int16Array);
  const bfp8 = await BfpKernel.create({
    bits: 8,
    rounding: "rne",
    granularity: "tensor",
  });
  const inputs: OutlierInput[] = [
    { method: "tile", x: t },
    { method: "split", x: q.split(x, m, k) },
    { method: "untreated", x: bfp8.quantise(x, m, k) },
  ];
  for (const input of inputs) {
    const fwd = forwardProducts(input, w);
    assert.equal(fwd.products.length, input.method === "untreated" ? 1 : 2);
    assert.equal(firstMismatch(lin.run(fwd), referenceProducts(fwd)), -1);
    const dw = gradWeightProducts(input, g);
    const got = lin.gradWeight(input, g);
    assert.equal(got.length, k * n);
    assert.equal(firstMismatch(got, referenceProducts(dw)), -1, input.method);
  }
});

Deno.test("the weight gradient from the tile streams matches Xᵀ·dY up to the A-stream rounding", async () => {
  const q = await OutlierQuantiser.create();
  const m = 64, k = 24, n = 8;
  // Remainders on the 1/16 grid: the tile streams hold X exactly.
  const rand = seeded(10);
  const x = Float32Array.from(
    { length: m * k },
    () => (Math.floor(rand() * 1600) - 800) / 16,
  );
  x[0] = 4.9375;
  const g = quantiseWeight(normals(m * n, 1, seeded(11)), m, n);
  const gHat = Float32Array.from(g.q, (v) => v * 2 ** (g.exponents[0] - 7));
  const want = new Float64Array(k * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      for (let j = 0; j < n; j++) {
        want[p * n + j] += x[i * k + p] * gHat[i * n + j];
      }
    }
  }
  const dw = referenceProducts(
    gradWeightProducts({ method: "tile", x: q.tile(x, m, k) }, g),
  );
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(dw[i] - want[i]) <= 1e-6 * Math.abs(want[i]) + 1e-6,
      `${i}`,
    );
  }
});

Deno.test("benchOutlier times the three treatments and finds the planted columns", async () => {
  const rows = await benchOutlier({ rows: 60, cols: 400, repeats: 1 });
  assert.deepEqual(rows.map((r) => [r.pass, r.columns]), [
    ["bfp8", 0],
    ["split", 3], // channels 42, 308 and 381 fit in 400
    ["tile", 3],
  ]);
});
