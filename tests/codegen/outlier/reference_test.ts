import assert from "node:assert/strict";
import {
  checkGamma,
  OutlierError,
  referenceSplit,
  referenceTile,
  tileK,
  tileRemainder,
} from "../../../src/codegen/outlier/mod.ts";
import { referenceDequantise } from "../../../src/codegen/bfp/mod.ts";
import { seeded } from "../bfp/helpers.ts";
import { nextF32 } from "./planted.ts";

Deno.test("k = floor((x+γ)/2γ) is exact at every boundary, 0 exactly on [-γ, γ)", () => {
  const cases: [number, number][] = [
    [0, 0],
    [-5, 0],
    [nextF32(-5, -1), -1],
    [nextF32(5, -1), 0],
    [5, 1],
    [nextF32(15, -1), 1],
    [15, 2],
    [-15, -1],
    [nextF32(-15, -1), -2],
    [nextF32(1275, -1), 127],
    [1275, 128],
    [-1275, -127],
    [nextF32(-1275, -1), -128],
    [327665, 32767],
  ];
  for (const [x, k] of cases) assert.equal(tileK(x, 5), k, `x = ${x}`);
});

Deno.test("tile reconstruction is exact: x = r + 2γk with r an f32 in [-γ, γ)", () => {
  const rand = seeded(77);
  for (let i = 0; i < 20000; i++) {
    const mag = 10 ** (rand() * 6 - 1); // 0.1 .. 1e5
    const x = Math.fround((rand() < 0.5 ? -1 : 1) * mag);
    for (const v of [x, nextF32(x, 1), nextF32(x, -1)]) {
      const k = tileK(v, 5), r = tileRemainder(v, 5);
      assert.ok(Number.isInteger(k));
      assert.ok(r >= -5 && r < 5, `r(${v}) = ${r}`);
      assert.equal(Math.fround(r), r, `r(${v}) is not an f32`);
      assert.equal(r + 10 * k, v);
    }
  }
});

Deno.test("Approach 2: the A-stream map is the only rounding; on-grid remainders reconstruct exactly", () => {
  // x = 10k + r with r on the 1/16 grid and max|r| in [4, 5): Δ_A = 2^-4.
  const rand = seeded(5);
  const n = 4 * 64;
  const x = Float32Array.from({ length: n }, () => {
    const k = Math.floor(rand() * 41) - 20;
    return 10 * k + (Math.floor(rand() * 160) - 80) / 16;
  });
  x[0] = 4.9375;
  const t = referenceTile(x, 4, 64);
  assert.deepEqual([...t.a.exponents], [3]);
  const aHat = referenceDequantise(t.a);
  const kOf = (i: number, j: number) => {
    const c = t.columns.indexOf(j);
    return c < 0 ? 0 : t.k[i * t.columns.length + c];
  };
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 64; j++) {
      assert.equal(aHat[i * 64 + j] + 10 * kOf(i, j), x[i * 64 + j]);
    }
  }
  // Off the grid, the reconstruction error is the A map's: at most Δ_A / 2.
  const y = Float32Array.from(x, (v, i) => v + ((i * 0.37) % 1) / 16);
  const u = referenceTile(y, 4, 64);
  const uHat = referenceDequantise(u.a);
  for (let i = 0; i < y.length; i++) {
    const r = tileRemainder(y[i], 5);
    assert.ok(Math.abs(uHat[i] - r) <= 2 ** -4 / 2);
  }
});

Deno.test("Approach 1 splits disjointly at |x| > γ with exponents of their own", () => {
  const x = Float32Array.from([1, -5, 5.5, 0.25, -40, 3, 2, 1]); // 2 × 4
  const s = referenceSplit(x, 2, 4);
  assert.deepEqual([...s.columns], [0, 2]);
  assert.deepEqual([...s.inliers.exponents], [3]); // max|X_in| = 5
  assert.deepEqual([...s.inliers.q], [16, -80, 0, 4, 0, 48, 32, 16]);
  assert.deepEqual([...s.outliers.exponents], [6]); // max|X_out| = 40: Δ = 2^-5
  assert.deepEqual([...s.outliers.q], [0, 176, -1280, 0]);
});

Deno.test("|k| > 127 is counted and routed to int16, never clipped; beyond int16 is refused", () => {
  const x = new Float32Array(3 * 8).fill(0.5);
  x[5] = 1276; // k = 128
  x[13] = -2000; // k = -200
  x[14] = 100; // k = 10
  const t = referenceTile(x, 3, 8);
  assert.equal(t.wideCount, 2);
  assert.ok(t.k instanceof Int16Array);
  assert.deepEqual([...t.columns], [5, 6]);
  assert.deepEqual([...t.k], [128, 0, -200, 10, 0, 0]);
  const small = referenceTile(Float32Array.from([1274, 0]), 1, 2);
  assert.ok(small.k instanceof Int8Array);
  assert.equal(small.wideCount, 0);
  assert.throws(() => referenceTile(Float32Array.of(4e5), 1, 1), OutlierError);
  assert.throws(() => referenceTile(Float32Array.of(NaN), 1, 1), /finite/);
});

Deno.test("γ must keep 2γk exact in f32", () => {
  for (const ok of [5, 4, 6, 2.5, 0.75]) checkGamma(ok);
  for (const bad of [0, -5, Math.fround(0.1), 5.0001, Infinity]) {
    assert.throws(() => checkGamma(bad), OutlierError, `${bad}`);
  }
});
