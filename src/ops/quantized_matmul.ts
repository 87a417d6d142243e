/**
 * `QuantizedMatMul(x, wq, w_scale[, bias]) {ptq_scale, ptq_zero_point,
 * ptq_bits}`: the
 * post-training integer linear of NUMERICS.md §4 — y = x·W with x quantised
 * per tensor, asymmetric, and W per output channel, symmetric — as one
 * operator, so the engine can run it on the int8 GEMM.
 *
 * With x viewed as X [M, K] (leading dims flattened), wq [K, N] int8 codes
 * and w_scale [N] f32:
 *
 * - activation codes c = clamp(⌊f32(f32(x/Δ) + f32(z + ½))⌋, 0, 2^bits − 1),
 *   the same arithmetic as the `ptq` fake-quant graph, so both see the same
 *   codes;
 * - the int8 product runs on c − 128 (in [−128, 127] for bits ≤ 8) and the
 *   shift comes back per column: Σ_k (c − z)·q = A + (128 − z)·S with
 *   A = Σ_k (c − 128)·q exact and S = Σ_k q[k, n];
 * - Y[i, n] = f32((A + (128 − z)·S) · (Δ·Δ_n)), the sum, the shift and the
 *   scale in f64 in that order (exact for an integer z; LSQ+'s real offset
 *   rounds there, identically in the kernel);
 * - with `bias` [N], Y[i, n] + bias[n] in f32: the linear's bias Add, fused.
 *
 * @module
 */

import { floatAttr, intAttr, type Node } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { inputTensor, inputType, unifyDim } from "./dims.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** The activation code the int8 product is centred on. */
export const CODE_CENTRE = 128;

/** Activation quantisation of a node: step, zero point, bits. */
export interface ActivationCode {
  /** Step Δ (f32). */
  readonly scale: number;
  /** Zero point z (integer, or LSQ+'s real offset). */
  readonly zeroPoint: number;
  /** Activation bits, 2–8. */
  readonly bits: number;
}

/** The node's activation quantisation, checked. */
export function activationCodeOf(node: Node): ActivationCode {
  const scale = floatAttr(node.attrs, "ptq_scale", NaN);
  const zeroPoint = floatAttr(node.attrs, "ptq_zero_point", NaN);
  const bits = intAttr(node.attrs, "ptq_bits", 8);
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new OpError(node, `ptq_scale must be finite and > 0, got ${scale}.`);
  }
  if (!Number.isFinite(zeroPoint)) {
    throw new OpError(node, `ptq_zero_point must be finite, got ${zeroPoint}.`);
  }
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
    throw new OpError(
      node,
      `ptq_bits must be an integer from 2 to 8 (int8 kernels), got ${bits}.`,
    );
  }
  return { scale, zeroPoint, bits };
}

/** `x`'s code minus {@linkcode CODE_CENTRE}; `half` is f32(z + ½). */
export function centredCode(
  x: number,
  scale: number,
  half: number,
  qmax: number,
): number {
  const t = Math.fround(Math.fround(x / scale) + half);
  return Math.min(qmax, Math.max(0, Math.floor(t))) - CODE_CENTRE;
}

/**
 * The per-column f64 terms of the dequantisation: `shift[n]` = (128 − z)·S_n
 * and `factor[n]` = Δ·Δ_n.
 */
export function columnTerms(
  wq: ArrayLike<number>,
  wScale: ArrayLike<number>,
  k: number,
  n: number,
  a: ActivationCode,
): { shift: Float64Array; factor: Float64Array } {
  const shift = new Float64Array(n);
  for (let kk = 0; kk < k; kk++) {
    for (let j = 0; j < n; j++) shift[j] += wq[kk * n + j];
  }
  const factor = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    shift[j] *= CODE_CENTRE - a.zeroPoint;
    factor[j] = a.scale * wScale[j];
  }
  return { shift, factor };
}

/** The reference of the module doc on row-major X [m, k] and wq [k, n]. */
export function quantizedProduct(
  x: ArrayLike<number>,
  wq: ArrayLike<number>,
  wScale: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  a: ActivationCode,
  bias?: ArrayLike<number>,
): Float32Array {
  const half = Math.fround(a.zeroPoint + 0.5);
  const qmax = 2 ** a.bits - 1;
  const { shift, factor } = columnTerms(wq, wScale, k, n, a);
  const y = new Float32Array(m * n);
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let kk = 0; kk < k; kk++) {
      const c = centredCode(x[i * k + kk], a.scale, half, qmax);
      for (let j = 0; j < n; j++) acc[j] += c * wq[kk * n + j];
    }
    for (let j = 0; j < n; j++) {
      y[i * n + j] = (acc[j] + shift[j]) * factor[j];
      if (bias !== undefined) y[i * n + j] += bias[j];
    }
  }
  return y;
}

/** QuantizedMatMul: see the module doc. */
const quantizedMatMul: OpDef = {
  name: "QuantizedMatMul",
  summary:
    "x·W with x quantised per tensor (asymmetric, ≤ 8 bits) and W as int8 codes with per-column scales: an exact integer product, dequantised once.",
  inputs: [3, 4],
  outputs: [1, 1],
  infer(ctx) {
    const { node } = ctx;
    activationCodeOf(node);
    const x = inputType(ctx, 0), w = inputType(ctx, 1), s = inputType(ctx, 2);
    if (x.dtype !== "f32" || w.dtype !== "i8" || s.dtype !== "f32") {
      throw new OpError(
        node,
        `needs f32 x, i8 codes and f32 scales, got ${x.dtype}, ${w.dtype}, ${s.dtype}.`,
      );
    }
    if (x.shape.length < 1 || w.shape.length !== 2 || s.shape.length !== 1) {
      throw new OpError(
        node,
        `x must have rank ≥ 1, codes rank 2 and scales rank 1, got [${x.shape}], [${w.shape}], [${s.shape}].`,
      );
    }
    unifyDim(
      node,
      x.shape[x.shape.length - 1],
      w.shape[0],
      "inner dims differ",
    );
    unifyDim(node, w.shape[1], s.shape[0], "one scale per column");
    const bias = ctx.inputs[3];
    if (bias !== undefined) {
      if (bias.dtype !== "f32" || bias.shape.length !== 1) {
        throw new OpError(
          node,
          `bias must be f32 of rank 1, got ${bias.dtype}[${bias.shape}].`,
        );
      }
      unifyDim(node, w.shape[1], bias.shape[0], "one bias per column");
    }
    return [{ dtype: "f32", shape: [...x.shape.slice(0, -1), w.shape[1]] }];
  },
  evaluate(inputs, node): Tensor[] {
    const x = inputTensor(node, inputs, 0);
    const w = inputTensor(node, inputs, 1);
    const s = inputTensor(node, inputs, 2);
    const [k, n] = w.shape;
    const m = x.data.length / Math.max(k, 1);
    return [{
      dtype: "f32",
      shape: [...x.shape.slice(0, -1), n],
      data: quantizedProduct(
        x.data,
        w.data,
        s.data,
        m,
        k,
        n,
        activationCodeOf(node),
        inputs[3]?.data,
      ),
    }];
  },
};

/** The post-training integer linear operator. */
export const quantizedMatMulOps: readonly OpDef[] = [quantizedMatMul];
