/** Deterministic operand generators for the GEMM tests (mulberry32). */

/** A seeded uniform generator in [0, 1). */
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

/** Uniform integers in [lo, hi] into a new array of `type`. */
export function randomInts<T extends Int8Array | Int16Array>(
  type: { new (n: number): T },
  length: number,
  [lo, hi]: readonly [number, number],
  rand: () => number,
): T {
  const out = new type(length);
  for (let i = 0; i < length; i++) {
    out[i] = lo + Math.floor(rand() * (hi - lo + 1));
  }
  return out;
}

/** f32 values; `dyadic` gives multiples of 1/8 in [-2, 2], exact under any rounding. */
export function randomFloats(
  length: number,
  rand: () => number,
  dyadic: boolean,
): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = dyadic ? Math.floor(rand() * 33 - 16) / 8 : rand() * 2 - 1;
  }
  return out;
}

/** Index of the first differing element (bitwise for floats, NaN-safe), or -1. */
export function firstMismatch(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) return i;
  }
  return -1;
}
