/** Test data with planted outliers, shared by the outlier tests. */

import { seeded } from "../bfp/helpers.ts";

/** Standard normal draws (Box–Muller) from a seeded uniform source. */
export function normals(
  n: number,
  sigma: number,
  rand: () => number,
): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rand(), v = rand();
    out[i] = sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/**
 * rows × cols activations N(0, 1) where `fraction` of all elements, drawn from
 * the given hidden channels, are multiplied by `factor` (BERT-like outliers).
 */
export function plantedActivations(
  rows: number,
  cols: number,
  channels: readonly number[],
  fraction: number,
  factor: number,
  seed: number,
): Float32Array {
  const rand = seeded(seed);
  const x = normals(rows * cols, 1, rand);
  const slots = channels.flatMap((c) =>
    Array.from({ length: rows }, (_, i) => i * cols + c)
  );
  const count = Math.round(fraction * rows * cols);
  if (count > slots.length) {
    throw new RangeError("Too few channel slots for the outlier fraction.");
  }
  for (let s = 0; s < count; s++) {
    const pick = s + Math.floor(rand() * (slots.length - s));
    [slots[s], slots[pick]] = [slots[pick], slots[s]];
    x[slots[s]] *= factor;
  }
  return x;
}

/** Y = X·W in f64, rounded to f32 (the float baseline). */
export function matmulF64(
  x: Float32Array,
  w: Float32Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const a = x[i * k + p];
      if (a === 0) continue;
      for (let j = 0; j < n; j++) y[i * n + j] += a * w[p * n + j];
    }
  }
  return y;
}

/** ‖y − ref‖_F / ‖ref‖_F. */
export function relativeFrobenius(
  y: ArrayLike<number>,
  ref: ArrayLike<number>,
): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (y[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** The f32 next to `x` in direction `dir` (±1). */
export function nextF32(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * 2 ** -149;
  const bits = new Int32Array(Float32Array.of(x).buffer);
  bits[0] += (x > 0 ? 1 : -1) * dir;
  return new Float32Array(bits.buffer)[0];
}
