/**
 * `LlmInt8MatMul(x, W) {threshold}`: LLM.int8()'s mixed-precision
 * decomposition of y = x·W (Dettmers et al. 2022; NUMERICS.md §4), emulated
 * in f32 values like the other quantisation operators.
 *
 * With x viewed as X [M, K] (leading dims flattened) and W [K, N]:
 *
 * - Outlier dims O = { k : |X[i,k]| ≥ threshold for some row i } — decided
 *   per call, i.e. per batch at run time, as LLM.int8() does.
 * - Int8 part over k ∉ O. Row scale of X: a_i = max_{k∉O} |X[i,k]| / 127
 *   (outlier dims excluded, so one outlier no longer coarsens its whole row);
 *   column scale of W: b_n = max_k |W[k,n]| / 127 (over every k: the weight
 *   is quantised once, ahead of time, not per batch). Codes
 *   qx = rne(X[i,k]/a_i), qw = rne(W[k,n]/b_n), rne = round half to even,
 *   so |q| ≤ 127; a zero scale gives zero codes.
 * - Y[i,n] = a_i·b_n·Σ_{k∉O} qx[i,k]·qw[k,n] + Σ_{k∈O} X[i,k]·W[k,n], the
 *   integer sum exact, everything accumulated in double and rounded once to
 *   f32 (the int32 GEMM, the dequantisation and the f32 GEMM of the outlier
 *   dims, summed).
 *
 * With no |x| ≥ threshold it is plain int8 absmax (row-wise X, column-wise
 * W); with threshold 0 every dim is an outlier dim and it is the f32 product.
 *
 * @module
 */

import { type Dim, floatAttr, type Node } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { inputTensor, inputType, unifyDim } from "./dims.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** LLM.int8()'s default outlier threshold (|x| ≥ 6). */
export const DEFAULT_LLM_INT8_THRESHOLD = 6;

/** Largest int8 code of the symmetric absmax quantiser. */
const Q_MAX = 127;

/** Round half to even, the integer kernels' rounding. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round sends ties up; a tie landing on an odd integer goes back down.
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The node's threshold attribute, checked ≥ 0 and finite. */
function thresholdOf(node: Node): number {
  const t = floatAttr(node.attrs, "threshold", DEFAULT_LLM_INT8_THRESHOLD);
  if (!Number.isFinite(t) || t < 0) {
    throw new OpError(node, `threshold must be finite and ≥ 0, got ${t}.`);
  }
  return t;
}

/** Checks operand dtypes and ranks; returns the output dims. */
function outputDims(
  node: Node,
  x: { dtype: string; shape: readonly Dim[] },
  w: { dtype: string; shape: readonly Dim[] },
): Dim[] {
  if (x.dtype !== "f32" || w.dtype !== "f32") {
    throw new OpError(node, `needs f32 operands, got ${x.dtype}, ${w.dtype}.`);
  }
  if (x.shape.length < 1 || w.shape.length !== 2) {
    throw new OpError(
      node,
      `x must have rank ≥ 1 and W rank 2, got [${x.shape}] and [${w.shape}].`,
    );
  }
  unifyDim(node, x.shape[x.shape.length - 1], w.shape[0], "inner dims differ");
  return [...x.shape.slice(0, -1), w.shape[1]];
}

/**
 * The reference of the module doc on plain arrays: X [m, k], W [k, n],
 * both row-major; returns Y [m, n] in f32.
 */
export function llmInt8Product(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  threshold: number,
): Float32Array {
  const outlier = new Uint8Array(k);
  for (let i = 0; i < m * k; i++) {
    if (Math.abs(x[i]) >= threshold) outlier[i % k] = 1;
  }
  const colScale = new Float64Array(n);
  for (let kk = 0; kk < k; kk++) {
    for (let j = 0; j < n; j++) {
      colScale[j] = Math.max(colScale[j], Math.abs(w[kk * n + j]) / Q_MAX);
    }
  }
  const qw = Float64Array.from(
    { length: k * n },
    (_, i) => colScale[i % n] === 0 ? 0 : roundHalfEven(w[i] / colScale[i % n]),
  );
  const y = new Float32Array(m * n);
  const acc = new Float64Array(n);
  const integer = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    let rowMax = 0;
    for (let kk = 0; kk < k; kk++) {
      if (!outlier[kk]) rowMax = Math.max(rowMax, Math.abs(x[i * k + kk]));
    }
    const rowScale = rowMax / Q_MAX;
    acc.fill(0);
    integer.fill(0);
    for (let kk = 0; kk < k; kk++) {
      const v = x[i * k + kk];
      if (outlier[kk]) {
        for (let j = 0; j < n; j++) acc[j] += v * w[kk * n + j];
      } else if (rowScale > 0) {
        const q = roundHalfEven(v / rowScale);
        for (let j = 0; j < n; j++) integer[j] += q * qw[kk * n + j];
      }
    }
    for (let j = 0; j < n; j++) {
      y[i * n + j] = acc[j] + rowScale * colScale[j] * integer[j];
    }
  }
  return y;
}

/** LlmInt8MatMul: see the module doc. */
const llmInt8MatMul: OpDef = {
  name: "LlmInt8MatMul",
  summary:
    "LLM.int8() x·W: dims with |x| ≥ threshold in f32, the rest int8 absmax (X rows, W columns).",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    thresholdOf(ctx.node);
    const x = inputType(ctx, 0);
    return [{
      dtype: x.dtype,
      shape: outputDims(ctx.node, x, inputType(ctx, 1)),
    }];
  },
  evaluate(inputs, node): Tensor[] {
    const x = inputTensor(node, inputs, 0);
    const w = inputTensor(node, inputs, 1);
    const shape = outputDims(node, x, w) as number[];
    const [k, n] = w.shape;
    const y = llmInt8Product(
      x.data,
      w.data,
      x.data.length / Math.max(k, 1),
      k,
      n,
      thresholdOf(node),
    );
    return [{ dtype: "f32", shape, data: y }];
  },
};

/** The LLM.int8() operator. */
export const llmInt8Ops: readonly OpDef[] = [llmInt8MatMul];
