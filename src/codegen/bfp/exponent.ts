/**
 * Exact exponent arithmetic of the BFP format: the frexp exponent of a
 * maximum, the power-of-two steps of the map and its inverse, and the GEMM
 * epilogue scale. Everything here is exact: exponents come from the float's
 * bits, never from `Math.log2` (which rounds just below powers of two), and
 * every scale is a power of two.
 * @module
 */

import { BfpError } from "./params.ts";

const f64 = new Float64Array(1);
const f64Bits = new Uint32Array(f64.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The frexp exponent e of m ≥ 0: 2^(e−1) ≤ m < 2^e, and 0 for m = 0.
 * Throws {@link BfpError} for a negative or non-finite m.
 */
export function frexpExponent(m: number): number {
  if (!(m >= 0) || m === Infinity) {
    throw new BfpError(
      `A BFP exponent needs a finite maximum magnitude, got ${m}; the tensor holds a NaN or infinity.`,
    );
  }
  if (m === 0) return 0;
  f64[0] = m;
  const biased = (f64Bits[HIGH] >>> 20) & 0x7ff;
  // f64 subnormals lie below every f32 value; scale them into range first.
  if (biased === 0) return frexpExponent(m * 2 ** 64) - 64;
  return biased - 1022;
}

/** Smallest and largest exponents of a normal f32. */
const F32_MIN_EXP = -126;
const F32_MAX_EXP = 127;

/**
 * 2^k as two normal-f32 factors [2^a, 2^(k−a)], a = clamp(k, −126, 127).
 * One factor cannot reach the map scale of tiny tensors (k up to 163) or the
 * unmap step of tiny ones (k down to −163); applying the clamped factor first
 * keeps the first product exact, so the pair rounds once, like 2^k would.
 */
export function pow2Factors(k: number): [number, number] {
  const a = Math.min(Math.max(k, F32_MIN_EXP), F32_MAX_EXP);
  if (k - a < F32_MIN_EXP || k - a > F32_MAX_EXP) {
    throw new BfpError(`2^${k} is outside the range of two f32 factors.`);
  }
  return [2 ** a, 2 ** (k - a)];
}

/** The map multiplier 1/Δ = 2^((b−1)−e) as two f32 factors. */
export function mapFactors(e: number, bits: number): [number, number] {
  return pow2Factors(bits - 1 - e);
}

/** The step Δ = 2^(e−(b−1)) as two f32 factors (the dequantise multiplier). */
export function stepFactors(e: number, bits: number): [number, number] {
  return pow2Factors(e - (bits - 1));
}

/**
 * The GEMM epilogue scale 2^(ex + ew − 2(b−1)) for per-tensor exponents, as
 * the single f32 the GEMM kernels take; with operands of different widths
 * (the int12·int8 outlier product) it is 2^(ex − (bx−1) + ew − (bw−1)).
 * Throws {@link BfpError} when it is not a normal f32;
 * {@link scaleAccumulators} handles any exponent.
 */
export function gemmEpilogueScale(
  ex: number,
  ew: number,
  bitsX = 8,
  bitsW = bitsX,
): number {
  const k = ex - (bitsX - 1) + ew - (bitsW - 1);
  if (k < F32_MIN_EXP || k > F32_MAX_EXP) {
    throw new BfpError(
      `GEMM epilogue scale 2^${k} (ex ${ex}, ew ${ew}, b ${bitsX}·${bitsW}) is not a normal f32; use scaleAccumulators.`,
    );
  }
  return 2 ** k;
}

/**
 * Converts row-major int32 accumulators of Qx[rows,·]·Qw[·,cols] to f32:
 * fround(fround(a) · 2^(ex + ew − 2(b−1))), one rounding like the GEMM
 * epilogue. `ex` is one exponent or one per row (per-row X), `ew` one or one
 * per column (per-column W): both factor out of the product.
 */
export function scaleAccumulators(
  acc: Int32Array,
  rows: number,
  cols: number,
  ex: number | Int32Array,
  ew: number | Int32Array,
  bits = 8,
): Float32Array {
  if (acc.length !== rows * cols) {
    throw new BfpError(
      `Accumulators hold ${acc.length} values, a ${rows}×${cols} output needs ${
        rows * cols
      }.`,
    );
  }
  const out = new Float32Array(acc.length);
  for (let i = 0; i < rows; i++) {
    const exi = typeof ex === "number" ? ex : ex[i];
    for (let j = 0; j < cols; j++) {
      const ewj = typeof ew === "number" ? ew : ew[j];
      const k = exi + ewj - 2 * (bits - 1);
      out[i * cols + j] = Math.fround(Math.fround(acc[i * cols + j]) * 2 ** k);
    }
  }
  return out;
}
