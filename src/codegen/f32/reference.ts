/**
 * Plain scalar references of every f32 kernel, in double precision, with the
 * same argument conventions (row-major arrays, sizes passed explicitly).
 * Tests compare the generated kernels with these and check the backward
 * references against central differences of the forward ones.
 * @module
 */

import { dropoutHashOf } from "../../ops/dropout_train.ts";
import { erf } from "../../ops/erf.ts";
import type { BinaryForm, BinaryOp } from "./binary.ts";

type Vec = ArrayLike<number>;

/** Per-row mean and 1/√(variance + ε) over rows of width h. */
function rowStats(
  x: Vec,
  rows: number,
  h: number,
  eps: number,
): { mean: Float64Array; rstd: Float64Array } {
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < h; j++) s += x[r * h + j];
    const mu = s / h;
    let v = 0;
    for (let j = 0; j < h; j++) v += (x[r * h + j] - mu) ** 2;
    mean[r] = mu;
    rstd[r] = 1 / Math.sqrt(v / h + eps);
  }
  return { mean, rstd };
}

/** LayerNorm forward; returns y [rows, h] and per-row mean and rstd. */
export function layerNormFwdRef(
  x: Vec,
  gamma: Vec,
  beta: Vec,
  rows: number,
  h: number,
  eps: number,
): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const { mean, rstd } = rowStats(x, rows, h, eps);
  const y = new Float64Array(rows * h);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < h; j++) {
      y[r * h + j] = (x[r * h + j] - mean[r]) * rstd[r] * gamma[j] + beta[j];
    }
  }
  return { y, mean, rstd };
}

/** LayerNorm backward; dγ and dβ are summed over rows. */
export function layerNormBwdRef(
  x: Vec,
  gamma: Vec,
  dy: Vec,
  rows: number,
  h: number,
  eps: number,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const { mean, rstd } = rowStats(x, rows, h, eps);
  const dx = new Float64Array(rows * h);
  const dgamma = new Float64Array(h);
  const dbeta = new Float64Array(h);
  for (let r = 0; r < rows; r++) {
    const xhat = (j: number) => (x[r * h + j] - mean[r]) * rstd[r];
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < h; j++) {
      const g = dy[r * h + j] * gamma[j];
      sg += g;
      sgx += g * xhat(j);
      dgamma[j] += dy[r * h + j] * xhat(j);
      dbeta[j] += dy[r * h + j];
    }
    for (let j = 0; j < h; j++) {
      const g = dy[r * h + j] * gamma[j];
      dx[r * h + j] = rstd[r] * (g - sg / h - xhat(j) * sgx / h);
    }
  }
  return { dx, dgamma, dbeta };
}

/** The attention mask of the masked softmax. */
export interface SoftmaxMaskRef {
  /** attention_mask [B, cols], 0 = masked. */
  readonly mask: Vec;
  /** Rows sharing one mask row (heads·S). */
  readonly rowsPerBatch: number;
  /** Added to masked scores (−10000, or −∞). */
  readonly maskValue: number;
}

/** Softmax forward of scale·x (+ mask) over rows of `cols`. */
export function softmaxFwdRef(
  x: Vec,
  rows: number,
  cols: number,
  scale: number,
  mask?: SoftmaxMaskRef,
): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const z = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const masked = mask &&
        mask.mask[Math.floor(r / mask.rowsPerBatch) * cols + j] === 0;
      z[j] = scale * x[r * cols + j] + (masked ? mask.maskValue : 0);
    }
    const m = Math.max(...z);
    if (m === -Infinity) continue;
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(z[j] - m);
    for (let j = 0; j < cols; j++) y[r * cols + j] = Math.exp(z[j] - m) / s;
  }
  return y;
}

/** Softmax backward: dx = scale·y ⊙ (dy − Σ dy⊙y). */
export function softmaxBwdRef(
  y: Vec,
  dy: Vec,
  rows: number,
  cols: number,
  scale: number,
): Float64Array {
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[r * cols + j] * y[r * cols + j];
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      dx[i] = scale * y[i] * (dy[i] - dot);
    }
  }
  return dx;
}

/** Φ(x), the standard normal CDF (double; relative accuracy lost below x ≈ −5.5). */
export function phiRef(x: number): number {
  return 0.5 * (1 + erf(x * Math.SQRT1_2));
}

/** erf-GELU: x·Φ(x). */
export function geluRef(x: number): number {
  return x * phiRef(x);
}

/** GELU derivative: Φ(x) + x·φ(x). */
export function geluGradRef(x: number): number {
  return phiRef(x) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** tanh derivative from the output: 1 − y². */
export function tanhGradRef(y: number): number {
  return 1 - y * y;
}

/** Embedding gather: rows `ids` of table [vocab, width]. */
export function embeddingFwdRef(
  table: Vec,
  ids: Vec,
  width: number,
): Float64Array {
  const out = new Float64Array(ids.length * width);
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < width; j++) {
      out[i * width + j] = table[ids[i] * width + j];
    }
  }
  return out;
}

/** Embedding backward: dtable [vocab, width] with duplicate ids summed. */
export function embeddingBwdRef(
  dout: Vec,
  ids: Vec,
  vocab: number,
  width: number,
): Float64Array {
  const dtable = new Float64Array(vocab * width);
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < width; j++) {
      dtable[ids[i] * width + j] += dout[i * width + j];
    }
  }
  return dtable;
}

/** Mean softmax cross-entropy of logits [rows, classes] against labels. */
export function crossEntropyRef(
  logits: Vec,
  labels: Vec,
  rows: number,
  classes: number,
): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = Array.from(
      { length: classes },
      (_, c) => logits[r * classes + c],
    );
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    total += lse - row[labels[r]];
  }
  return total / rows;
}

/** Gradient of {@link crossEntropyRef} times dloss. */
export function crossEntropyBwdRef(
  logits: Vec,
  labels: Vec,
  rows: number,
  classes: number,
  dloss: number,
): Float64Array {
  const y = softmaxFwdRef(logits, rows, classes, 1);
  for (let r = 0; r < rows; r++) y[r * classes + labels[r]] -= 1;
  return y.map((v) => v * dloss / rows);
}

/** Mean squared error. */
export function mseRef(pred: Vec, target: Vec): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
  return s / pred.length;
}

/** Gradient of {@link mseRef} with respect to pred, times dloss. */
export function mseBwdRef(pred: Vec, target: Vec, dloss: number): Float64Array {
  return Float64Array.from(
    pred,
    (p, i) => 2 * (p - target[i]) * dloss / pred.length,
  );
}

/**
 * `sum_squares` of one block of `size` values from `start`: element i's
 * square (exact in f64) into lane i mod 4, lanes combined as
 * (l0 + l2) + (l1 + l3).
 */
export function sumSquaresRef(x: Vec, start: number, size: number): number {
  const lanes = [0, 0, 0, 0];
  for (let i = 0; i < size; i++) lanes[i % 4] += x[start + i] ** 2;
  return (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
}

/** AdamW hyperparameters. */
export interface AdamWHyper {
  /** Learning rate. */
  readonly lr: number;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Denominator epsilon. */
  readonly eps: number;
  /** Decoupled weight decay. */
  readonly wd: number;
}

/** Optimiser state of one tensor. */
export interface AdamWState {
  /** Weights. */
  w: Float64Array;
  /** First moment. */
  m: Float64Array;
  /** Second moment. */
  v: Float64Array;
}

/** One AdamW step (1-based `step`) in double, returning the new state. */
export function adamwRef(
  state: AdamWState,
  g: Vec,
  hyper: AdamWHyper,
  step: number,
  decay: boolean,
): AdamWState {
  const { lr, beta1, beta2, eps, wd } = hyper;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const w = new Float64Array(state.w.length);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    m[i] = beta1 * state.m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * state.v[i] + (1 - beta2) * g[i] * g[i];
    const shrunk = decay ? state.w[i] * (1 - lr * wd) : state.w[i];
    w[i] = shrunk - (lr / bc1) * m[i] / (Math.sqrt(v[i] / bc2) + eps);
  }
  return { w, m, v };
}

/**
 * Binary `op` in `form` on f32 operands (`binary.ts`), in doubles rounded
 * once: what every binary kernel must write, bit for bit.
 */
export function binaryRef(
  op: BinaryOp,
  form: BinaryForm,
  a: Float32Array,
  b: Float32Array,
): Float32Array {
  const n = form === "scalar_a" ? b.length : a.length;
  const at = (x: Float32Array, scalar: boolean, i: number) =>
    scalar ? x[0] : x[i];
  const fn = {
    Add: (x: number, y: number) => x + y,
    Sub: (x: number, y: number) => x - y,
    Mul: (x: number, y: number) => x * y,
    Div: (x: number, y: number) => x / y,
  }[op];
  return Float32Array.from(
    { length: n },
    (_, i) => fn(at(a, form === "scalar_a", i), at(b, form === "scalar_b", i)),
  );
}

/**
 * `gather_rows` (`gather_rows.ts`) on bytes: output rows first … first +
 * rows − 1 of lead dims (·, d1, d2), each `rowBytes` bytes read at byte
 * strides s0, s1, s2.
 */
export function gatherRowsRef(
  src: Uint8Array,
  first: number,
  rows: number,
  rowBytes: number,
  [d1, d2]: readonly [number, number],
  [s0, s1, s2]: readonly [number, number, number],
): Uint8Array {
  const out = new Uint8Array(rows * rowBytes);
  for (let i = 0; i < rows; i++) {
    const r = first + i;
    const at = Math.floor(r / (d1 * d2)) * s0 +
      (Math.floor(r / d2) % d1) * s1 + (r % d2) * s2;
    out.set(src.subarray(at, at + rowBytes), i * rowBytes);
  }
  return out;
}

/**
 * `dropout_fwd` (`dropout.ts`) on elements first … first + x.length − 1 of
 * a tensor: y and the mask bytes, as the engine's TypeScript kernel
 * computes them (doubles, rounded once).
 */
export function dropoutFwdRef(
  x: Float32Array,
  first: number,
  key: number,
  ratio: number,
): { y: Float32Array; mask: Uint8Array } {
  const threshold = ratio * 2 ** 32;
  const mask = Uint8Array.from(
    x,
    (_, i) => dropoutHashOf(key, first + i) >= threshold ? 1 : 0,
  );
  const y = Float32Array.from(x, (v, i) => mask[i] ? v / (1 - ratio) : 0);
  return { y, mask };
}

/** `dropout_bwd`: dy·scale where the mask byte is set, else 0. */
export function dropoutBwdRef(
  dy: Float32Array,
  mask: Uint8Array,
  scale: number,
): Float32Array {
  return Float32Array.from(dy, (g, i) => mask[i] ? g * scale : 0);
}

/** `column_sums` (`column_sums.ts`): each column's sum in f64 from +0, rows in order, rounded once. */
export function columnSumsRef(
  x: Float32Array,
  cols: number,
  rows: number,
  stride: number,
): Float32Array {
  return Float32Array.from({ length: cols }, (_, c) => {
    let acc = 0;
    for (let r = 0; r < rows; r++) acc += x[r * stride + c];
    return acc;
  });
}
