/**
 * Scalar references of the two outlier treatments (NUMERICS.md §3) — the
 * definitions the WASM passes match bit for bit.
 *
 * Approach 1 (`split`): X = X_in + X_out with disjoint supports (|x| ≤ γ in
 * X_in, |x| > γ in X_out); X_in → BFP8 with its own exponent, X_out → BFP12
 * with its own exponent.
 *
 * Approach 2 (`tile`): k = ⌊(x + γ)/(2γ)⌋, r = x − 2γk ∈ [−γ, γ);
 * Q_A = BFP8(r) (= BFP8(X_in + X_sp1)); x = r + 2γk exactly, so the map of r
 * is the only rounding. k and r are computed exactly (k from an estimate plus
 * one correction step, r in f64, which is exact and representable in f32).
 *
 * Storage of the outlier streams (both approaches): column-gathered,
 * LLM.int8-style — the sorted set C of columns holding any outlier, and a
 * dense rows × |C| matrix of their values (zeros where a column's element is
 * not an outlier). The products then need only Qw[C, :], a GEMM of cost
 * |C|/K of the main one, and the stream's BFP12 exponent equals that of dense
 * X_out (the gathered zeros change no maximum). Under stochastic rounding the
 * outlier stream draws counters rows·cols + (gathered index), disjoint from the
 * inlier stream's 0 .. rows·cols − 1.
 * @module
 */

import {
  type BfpRounding,
  type BfpTensor,
  referenceQuantise,
} from "../bfp/mod.ts";
import {
  checkGamma,
  DEFAULT_GAMMA,
  K_INT16_MAX,
  K_INT8_MAX,
  OutlierError,
} from "./params.ts";

/** Options shared by the references and the kernels. */
export interface OutlierMapOptions {
  /** Threshold γ (default 5). */
  gamma?: number;
  /** Rounding of every BFP map (default `rne`). */
  rounding?: BfpRounding;
  /** Seed, required for `sr`. */
  seed?: number;
}

/** Approach 1 result. */
export interface SplitTensor {
  /** BFP8 of X_in (rows × cols). */
  readonly inliers: BfpTensor;
  /** Sorted columns holding any |x| > γ. */
  readonly columns: Int32Array;
  /** BFP12 of X_out[:, columns] (rows × |C|). */
  readonly outliers: BfpTensor;
}

/** Approach 2 result. */
export interface TileTensor {
  /** BFP8 of r = x − 2γk (rows × cols). */
  readonly a: BfpTensor;
  /** Sorted columns holding any k ≠ 0 (a superset is allowed, see the kernel). */
  readonly columns: Int32Array;
  /** k[:, columns] (rows × |C|): Int8Array if every |k| ≤ 127, else Int16Array. */
  readonly k: Int8Array | Int16Array;
  /** Elements with |k| > 127: nonzero means the int16 path was taken. */
  readonly wideCount: number;
  /** The threshold used. */
  readonly gamma: number;
}

/** k = ⌊(x + γ)/(2γ)⌋ exactly (0 for x ∈ [−γ, γ)). */
export function tileK(x: number, gamma: number): number {
  let k = Math.floor((x + gamma) / (2 * gamma));
  const r = x - 2 * gamma * k;
  if (r >= gamma) k++;
  else if (r < -gamma) k--;
  return k;
}

/** r = x − 2γ·k(x), exact, in [−γ, γ). */
export function tileRemainder(x: number, gamma: number): number {
  return x - 2 * gamma * tileK(x, gamma);
}

/** Throws unless every |x| leaves |k| within the int16 path. */
export function checkTileRange(maxAbs: number, gamma: number): void {
  if (!Number.isFinite(maxAbs)) {
    throw new OutlierError(
      `An outlier tiling needs finite activations; the tensor holds ${maxAbs}.`,
    );
  }
  if (Math.abs(tileK(maxAbs, gamma)) > K_INT16_MAX) {
    throw new OutlierError(
      `An activation of magnitude ${maxAbs} needs |k| > ${K_INT16_MAX} at γ = ${gamma}; raise γ for this layer.`,
    );
  }
}

/** Columns of a rows × cols tensor where `isOutlier` holds for some element. */
export function outlierColumns(
  x: Float32Array,
  rows: number,
  cols: number,
  isOutlier: (v: number) => boolean,
): Int32Array {
  const out: number[] = [];
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) {
      if (isOutlier(x[i * cols + j])) {
        out.push(j);
        break;
      }
    }
  }
  return Int32Array.from(out);
}

/** Gathers f(x[i, c]) for c in `columns` into a rows × |C| array. */
export function gatherColumns<T extends Float32Array | Int8Array | Int16Array>(
  out: T,
  x: Float32Array,
  cols: number,
  columns: Int32Array,
  f: (v: number) => number,
): T {
  const width = columns.length;
  const rows = width === 0 ? 0 : out.length / width;
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < width; c++) {
      out[i * width + c] = f(x[i * cols + columns[c]]);
    }
  }
  return out;
}

function mapOptions(o: OutlierMapOptions, rows: number, cols: number) {
  const rounding = o.rounding ?? "rne";
  return {
    rounding,
    inner: { seed: o.seed },
    outer: { seed: o.seed, counterBase: rows * cols },
  };
}

/** Approach 1, the definition. */
export function referenceSplit(
  x: Float32Array,
  rows: number,
  cols: number,
  options: OutlierMapOptions = {},
): SplitTensor {
  const gamma = options.gamma ?? DEFAULT_GAMMA;
  checkGamma(gamma);
  const { rounding, inner, outer } = mapOptions(options, rows, cols);
  const xIn = x.map((v) => Math.abs(v) <= gamma ? v : 0);
  const inliers = referenceQuantise(xIn, rows, cols, {
    bits: 8,
    rounding,
    granularity: "tensor",
  }, inner);
  const isOut = (v: number) => Math.abs(v) > gamma;
  const columns = outlierColumns(x, rows, cols, isOut);
  const xOut = gatherColumns(
    new Float32Array(rows * columns.length),
    x,
    cols,
    columns,
    (v) => isOut(v) ? v : 0,
  );
  const outliers = referenceQuantise(xOut, rows, columns.length, {
    bits: 12,
    rounding,
    granularity: "tensor",
  }, outer);
  return { inliers, columns, outliers };
}

/** Approach 2, the definition. */
export function referenceTile(
  x: Float32Array,
  rows: number,
  cols: number,
  options: OutlierMapOptions = {},
): TileTensor {
  const gamma = options.gamma ?? DEFAULT_GAMMA;
  checkGamma(gamma);
  let maxAbs = 0;
  for (const v of x) {
    maxAbs = Math.abs(v) > maxAbs || Number.isNaN(v) ? Math.abs(v) : maxAbs;
  }
  checkTileRange(maxAbs, gamma);
  const { rounding, inner } = mapOptions(options, rows, cols);
  const r = x.map((v) => tileRemainder(v, gamma));
  const a = referenceQuantise(r, rows, cols, {
    bits: 8,
    rounding,
    granularity: "tensor",
  }, inner);
  const columns = outlierColumns(x, rows, cols, (v) => tileK(v, gamma) !== 0);
  return { a, columns, gamma, ...gatherK(x, rows, cols, columns, gamma) };
}

/** k[:, columns], narrowed to int8 unless some |k| > 127, with that count. */
export function gatherK(
  x: Float32Array,
  rows: number,
  cols: number,
  columns: Int32Array,
  gamma: number,
): { k: Int8Array | Int16Array; wideCount: number } {
  const wide = gatherColumns(
    new Int16Array(rows * columns.length),
    x,
    cols,
    columns,
    (v) => tileK(v, gamma),
  );
  let wideCount = 0;
  for (const k of wide) if (k > K_INT8_MAX || k < -K_INT8_MAX) wideCount++;
  return { k: wideCount > 0 ? wide : Int8Array.from(wide), wideCount };
}
