/** Shared fixtures of the f32 kernel tests: data, memory, error measures, finite differences. */

import { Arena } from "../../../src/codegen/f32/mod.ts";

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform f32 values in [lo, hi). */
export function uniform(
  n: number,
  rand: () => number,
  lo = -1,
  hi = 1,
): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

/** A fresh arena on a fresh (optionally shared) memory. */
export function arena(shared = false): Arena {
  return new Arena(
    new WebAssembly.Memory({ initial: 1, maximum: 16384, shared }),
  );
}

/** max |got − want| / (|want| + floor): relative error with an absolute floor. */
export function maxRelErr(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  floor = 0,
): number {
  if (got.length !== want.length) throw new Error("Length mismatch.");
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + floor);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/** max |got − want| / max |want|: error relative to the array's scale. */
export function maxScaledErr(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
  }
  const abs = maxAbsErr(got, want);
  return scale === 0 ? abs : abs / scale;
}

/** max |got − want| (NaN counts as infinite). */
export function maxAbsErr(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/** ulp of the f32 nearest to `x` (the spacing just above |x|). */
export function ulp(x: number): number {
  const a = Math.fround(Math.abs(x));
  if (a === 0) return 2 ** -149;
  const bits = new Int32Array(Float32Array.of(a).buffer)[0];
  const next = new Float32Array(Int32Array.of(bits + 1).buffer)[0];
  return next - a;
}

/** max |got − want| in ulps of want. */
export function maxUlpErr(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / ulp(want[i]);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/**
 * Central-difference gradient of the scalar `loss` with respect to every
 * element of `x` (perturbed in place, in double, and restored).
 */
export function numericGrad(
  x: Float64Array,
  loss: () => number,
  h = 1e-5,
): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + h;
    const up = loss();
    x[i] = keep - h;
    const down = loss();
    x[i] = keep;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Σ a⊙b, the scalar loss whose gradient with respect to a is b. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
