/**
 * The scalar TypeScript reference of BFP-b (NUMERICS.md §1) — the definition
 * the generated kernels must match bit for bit:
 *
 * ```
 * m = max|x| over the group (tensor, row or column); e = frexp exponent of m (0 if m = 0)
 * y = x · 2^((b−1)−e)                   # exact in f32 unless y < 2^−126 (then rounded once)
 * q = clamp(R(y), −(2^(b−1)−1), 2^(b−1)−1)
 * R = ties-to-even, or ⌊y⌋ + [u < fl32(y − ⌊y⌋)] with u from the counter PRNG at
 *     index counterBase + (flat row-major index)
 * dequantised x̂ = fl32(q · 2^(e−(b−1)))
 * ```
 *
 * fl32(y − ⌊y⌋) is exact except for −1/2 < y < 0, where 1 + y may need more
 * bits than f32 holds and rounds by at most 2^−25 — a bias below 2^−24 of a
 * step, accepted so that the kernel's f32 subtraction is the definition.
 * @module
 */

import { frexpExponent, mapFactors, stepFactors } from "./exponent.ts";
import {
  BfpError,
  type BfpGranularity,
  bfpLimit,
  type BfpParams,
} from "./params.ts";
import { prngKeys, prngUniform } from "./prng.ts";

/** A BFP-mapped tensor: integers plus one exponent per group. */
export interface BfpTensor {
  /** Parameters it was mapped with. */
  readonly params: BfpParams;
  /** Row count (row-major). */
  readonly rows: number;
  /** Column count. */
  readonly cols: number;
  /** Mapped values: Int8Array for b = 8, Int16Array for b = 12, 16. */
  readonly q: Int8Array | Int16Array;
  /** Frexp exponents e: 1 (tensor), rows (row) or cols (col) of them. */
  readonly exponents: Int32Array;
}

/** Options of a map: the PRNG seed and counter base for stochastic rounding. */
export interface BfpMapOptions {
  /** Seed of the stochastic rounding stream; required when rounding is `sr`. */
  seed?: number;
  /** Counter of element 0 (a row block mapped separately passes its offset). */
  counterBase?: number;
}

/** Number of exponent groups of a rows × cols tensor. */
export function groupCount(
  granularity: BfpGranularity,
  rows: number,
  cols: number,
): number {
  return granularity === "tensor" ? 1 : granularity === "row" ? rows : cols;
}

/** Throws unless x holds a rows × cols tensor of whole, non-negative sizes. */
export function checkShape(x: ArrayLike<number>, rows: number, cols: number) {
  if (
    !Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0
  ) {
    throw new BfpError(
      `A BFP tensor shape must be whole numbers, got ${rows}×${cols}.`,
    );
  }
  if (x.length !== rows * cols) {
    throw new BfpError(
      `A ${rows}×${cols} tensor needs ${rows * cols} values, got ${x.length}.`,
    );
  }
}

/** max|x| per group (NaN if the group holds one). */
export function referenceMaxAbs(
  x: Float32Array,
  rows: number,
  cols: number,
  granularity: BfpGranularity,
): Float32Array {
  checkShape(x, rows, cols);
  const out = new Float32Array(groupCount(granularity, rows, cols));
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const g = granularity === "tensor" ? 0 : granularity === "row" ? i : j;
      const a = Math.abs(x[i * cols + j]);
      out[g] = a > out[g] || Number.isNaN(a) ? a : out[g];
    }
  }
  return out;
}

/** Frexp exponents of group maxima; throws BfpError on NaN or infinity. */
export function exponentsOf(maxAbs: Float32Array): Int32Array {
  return Int32Array.from(maxAbs, frexpExponent);
}

/** Round half to even of an f32 value y. */
export function roundHalfEven(y: number): number {
  const fl = Math.floor(y);
  const d = y - fl;
  if (d !== 0.5) return d < 0.5 ? fl : fl + 1;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** Maps x (rows × cols, row-major) to BFP per `params`; the definition. */
export function referenceQuantise(
  x: Float32Array,
  rows: number,
  cols: number,
  params: BfpParams,
  options: BfpMapOptions = {},
): BfpTensor {
  const exponents = exponentsOf(
    referenceMaxAbs(x, rows, cols, params.granularity),
  );
  const keys = params.rounding === "sr" ? prngKeys(requireSeed(options)) : null;
  const base = options.counterBase ?? 0;
  const limit = bfpLimit(params.bits);
  const q = params.bits === 8
    ? new Int8Array(x.length)
    : new Int16Array(x.length);
  const factors = Array.from(exponents, (e) => mapFactors(e, params.bits));
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const at = i * cols + j;
      const g = params.granularity === "tensor"
        ? 0
        : params.granularity === "row"
        ? i
        : j;
      const [fa, fb] = factors[g];
      const y = Math.fround(Math.fround(x[at] * fa) * fb);
      let r: number;
      if (keys) {
        const fl = Math.floor(y);
        r = fl +
          (prngUniform(keys, (base + at) >>> 0) < Math.fround(y - fl) ? 1 : 0);
      } else r = roundHalfEven(y);
      q[at] = Math.min(Math.max(r, -limit), limit);
    }
  }
  return { params, rows, cols, q, exponents };
}

/** x̂ = fl32(q · 2^(e−(b−1))) per element; the inverse map. */
export function referenceDequantise(t: BfpTensor): Float32Array {
  const out = new Float32Array(t.q.length);
  const factors = Array.from(t.exponents, (e) => stepFactors(e, t.params.bits));
  for (let i = 0; i < t.rows; i++) {
    for (let j = 0; j < t.cols; j++) {
      const g = t.params.granularity === "tensor"
        ? 0
        : t.params.granularity === "row"
        ? i
        : j;
      const [da, db] = factors[g];
      const at = i * t.cols + j;
      out[at] = Math.fround(Math.fround(t.q[at] * da) * db);
    }
  }
  return out;
}

/** The seed of a stochastic map, or a BfpError saying it is missing. */
export function requireSeed(options: BfpMapOptions): number {
  if (options.seed === undefined) {
    throw new BfpError(
      "Stochastic rounding needs a seed; pass options.seed (e.g. the training step).",
    );
  }
  return options.seed;
}
