/**
 * Post-training quantisation parameters (Outlier Suppression setting,
 * NUMERICS.md §4): W{w}A{a} with per-output-channel symmetric weights and
 * per-tensor asymmetric activations at every linear-layer input.
 *
 * Weights: column j of a `[in, out]` weight (row j of a transposed Gemm
 * weight) has scale Δ_j = max|W_j| / (2^(w−1)−1) and integer codes
 * clamp(round(W/Δ_j), ±(2^(w−1)−1)) (ties away from zero).
 *
 * Activations: a clipping range [lo, hi], widened to hold 0, gives
 * Δ = (hi − lo)/(2^a − 1) and zero point z = round(−lo/Δ); codes are
 * clamp(⌊f32(x/Δ) + z + ½⌋, 0, 2^a − 1) (round to nearest, ties up) and the
 * dequantised value (q − z)·Δ. {@linkcode fakeQuantiseValue} is that arithmetic
 * step by step in f32 — exactly what the graph the `ptq` pass inserts
 * (Div, Add, Floor, Max, Min, Sub, Mul) computes in the reference executor.
 *
 * @module
 */

import type { OutlierTransforms } from "./transforms.ts";

/** A W{w}A{a} precision. */
export interface Precision {
  /** Its name, e.g. `w8a8`. */
  readonly name: string;
  /** Weight bits. */
  readonly weightBits: number;
  /** Activation bits. */
  readonly activationBits: number;
}

/** The precisions of the Outlier Suppression rows. */
export const PRECISIONS = ["w8a8", "w6a6", "w4a8"] as const;

/** A bad precision, bit width or range. */
export class PtqError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "PtqError";
  }
}

/** Throws unless `bits` is an integer from 2 to 16. */
export function checkBits(bits: number, what: string): number {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) {
    throw new PtqError(
      `${what} bits must be an integer from 2 to 16, got ${bits}.`,
    );
  }
  return bits;
}

/** Parses `w8a8`-style names (any widths 2–16 per side). */
export function parsePrecision(name: string): Precision {
  const m = /^w(\d+)a(\d+)$/i.exec(name.trim());
  if (m === null) {
    throw new PtqError(
      `Unknown precision '${name}': use w{bits}a{bits}, e.g. ${
        PRECISIONS.join(", ")
      } (bits from 2 to 16).`,
    );
  }
  return {
    name: name.trim().toLowerCase(),
    weightBits: checkBits(Number(m[1]), "Weight"),
    activationBits: checkBits(Number(m[2]), "Activation"),
  };
}

/** Per-tensor asymmetric parameters of one activation. */
export interface ActivationParams {
  /** Clipping range low end (≤ 0 after widening). */
  readonly lo: number;
  /** Clipping range high end (≥ 0 after widening). */
  readonly hi: number;
  /** Step Δ (an f32 value). */
  readonly scale: number;
  /**
   * Zero point z in [0, 2^bits − 1]: an integer, except after the LSQ+
   * fine stage, whose learned offset makes it −offset/Δ.
   */
  readonly zeroPoint: number;
  /** Activation bits. */
  readonly bits: number;
}

/** Δ and z of the range [lo, hi] (widened to include 0) at `bits`. */
export function activationParams(
  lo: number,
  hi: number,
  bits: number,
): ActivationParams {
  checkBits(bits, "Activation");
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new PtqError(`Bad clipping range [${lo}, ${hi}].`);
  }
  const l = Math.min(lo, 0);
  const h = Math.max(hi, 0);
  const qmax = 2 ** bits - 1;
  let scale = Math.fround((h - l) / qmax);
  if (!(scale > 0)) scale = 1;
  const zeroPoint = Math.min(qmax, Math.max(0, Math.round(-l / scale)));
  return { lo: l, hi: h, scale, zeroPoint, bits };
}

/** The largest activation code. */
export function activationQmax(bits: number): number {
  return 2 ** bits - 1;
}

/**
 * One activation value through quantise → dequantise, each step rounded to
 * f32 as the graph's Div, Add, Floor, Max, Min, Sub and Mul round it.
 */
export function fakeQuantiseValue(x: number, p: ActivationParams): number {
  const f = Math.fround;
  const t = f(f(x / p.scale) + f(p.zeroPoint + 0.5));
  const q = Math.min(activationQmax(p.bits), Math.max(0, Math.floor(t)));
  return f(f(q - p.zeroPoint) * p.scale);
}

/** Symmetric per-output-channel weight quantisation of one 2-D weight. */
export interface QuantisedWeight {
  /** Dequantised values q·Δ_j (f32), same layout as the input. */
  readonly values: Float32Array;
  /** Δ_j per output channel. */
  readonly scales: Float32Array;
  /** The integer codes q (|q| ≤ 2^(w−1) − 1), same layout as the input. */
  readonly codes: Int16Array;
}

/** Round half away from zero. */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
}

/**
 * Quantises a row-major `[rows, cols]` weight per output channel: columns
 * when `outputAxis` is 1 (`x·W`), rows when 0 (Gemm with transB).
 */
export function quantiseWeight(
  data: ArrayLike<number>,
  rows: number,
  cols: number,
  outputAxis: 0 | 1,
  bits: number,
): QuantisedWeight {
  checkBits(bits, "Weight");
  const qmax = 2 ** (bits - 1) - 1;
  const channels = outputAxis === 1 ? cols : rows;
  const channelOf = (i: number) =>
    outputAxis === 1 ? i % cols : Math.floor(i / cols);
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < rows * cols; i++) {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(data[i]));
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = Math.fround(maxAbs[c] / qmax);
    scales[c] = s > 0 ? s : 1;
  }
  const values = new Float32Array(rows * cols);
  const codes = new Int16Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) {
    const s = scales[channelOf(i)];
    codes[i] = Math.max(-qmax, Math.min(qmax, roundHalfAway(data[i] / s)));
    values[i] = codes[i] * s;
  }
  return { values, scales, codes };
}

/** One calibrated activation site. */
export interface SiteParams extends ActivationParams {
  /** The activation value's name in the compiled graph. */
  readonly value: string;
  /** Encoder layer, or -1. */
  readonly layer: number;
  /** Role (see `linear_inputs.ts`). */
  readonly role: string;
}

/** What `calibrate` writes and `compile --infer` reads (`quant_params.json`). */
export interface QuantParams {
  /** Format tag. */
  readonly format: "tessera-ptq-1";
  /** The precision. */
  readonly precision: Precision;
  /** `minmax`, `token-clipping` or `token-clipping+lsq`. */
  readonly method: string;
  /** The chosen clipping ratio α (1 for MinMax). */
  readonly alpha: number;
  /** Every candidate α tried with its logits MSE (token clipping only). */
  readonly candidates: readonly { alpha: number; mse: number }[];
  /** Logits MSE vs f32 of the chosen parameters on the calibration set. */
  readonly mse: number;
  /** Where the calibration came from. */
  readonly calibration: Readonly<Record<string, unknown>>;
  /** One entry per linear-layer input. */
  readonly sites: readonly SiteParams[];
  /** The LSQ+ fine stage, when it ran (`src/ptq/lsq_train.ts`). */
  readonly lsq?: LsqRecord;
  /** Gamma migration or SmoothQuant ahead of the quantisers, if any. */
  readonly transforms?: OutlierTransforms;
}

/** What the LSQ+ fine stage records in the params file. */
export interface LsqRecord {
  /** Epochs over the calibration set. */
  readonly epochs: number;
  /** Peak Adam learning rate (cosine schedule). */
  readonly lr: number;
  /** Seed of the batch order. */
  readonly seed: number;
  /** Steps run (epochs × batches). */
  readonly steps: number;
  /** The coarse stage's output MSE; `mse` is the one after this stage. */
  readonly mseBefore: number;
  /** Per step, the batch loss before its update. */
  readonly losses: readonly number[];
}

/** The params file inside a calibration folder. */
export const PARAMS_FILE = "quant_params.json";

/** Reads `DIR/quant_params.json` and checks its shape. */
export function readQuantParams(dir: string): QuantParams {
  const file = `${dir}/${PARAMS_FILE}`;
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    throw new PtqError(
      `Calibration file '${file}' cannot be read; run 'deno task calibrate --out ${dir}' first.`,
    );
  }
  const p = JSON.parse(text) as QuantParams;
  if (p.format !== "tessera-ptq-1" || !Array.isArray(p.sites)) {
    throw new PtqError(`'${file}' is not a tessera quant params file.`);
  }
  return p;
}
