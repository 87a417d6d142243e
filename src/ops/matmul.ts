/**
 * Matrix products: MatMul (numpy semantics) and Gemm. Sums accumulate in
 * double and round once to the output dtype.
 *
 * @module
 */

import {
  type Dim,
  floatAttr,
  intAttr,
  type Node,
  type ValueType,
} from "../ir/graph.ts";
import { sizeOf, type Tensor, tensor } from "../ir/tensor.ts";
import { broadcastIndex, broadcastShapes } from "./broadcast.ts";
import { inputTensor, inputType, numeric, unifyDim } from "./dims.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** MatMul's operand layout: batch dims, M, K, N and the output dims. */
interface MatMulShape {
  batchA: Dim[];
  batchB: Dim[];
  batch: Dim[];
  m: Dim;
  k: Dim;
  n: Dim;
  out: Dim[];
}

/**
 * Numpy's matmul shape rule: a 1-D left operand is a row, a 1-D right one a
 * column, and those unit dims are dropped from the result.
 */
function matmulShape(
  node: Node,
  a: readonly Dim[],
  b: readonly Dim[],
): MatMulShape {
  if (a.length === 0 || b.length === 0) {
    throw new OpError(node, "operands must have rank ≥ 1.");
  }
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batchA = a2.slice(0, -2);
  const batchB = b2.slice(0, -2);
  const batch = broadcastShapes([batchA, batchB]);
  if (batch === undefined) {
    throw new OpError(
      node,
      `batch dims [${batchA}] and [${batchB}] do not broadcast.`,
    );
  }
  const m = a2[a2.length - 2];
  const n = b2[b2.length - 1];
  const k = unifyDim(
    node,
    a2[a2.length - 1],
    b2[b2.length - 2],
    "inner dims differ",
  );
  const out = [
    ...batch,
    ...(a.length === 1 ? [] : [m]),
    ...(b.length === 1 ? [] : [n]),
  ];
  return { batchA, batchB, batch, m, k, n, out };
}

/** Both operands' common dtype, or an error. */
function commonDtype(
  node: Node,
  a: ValueType,
  b: ValueType,
): ValueType["dtype"] {
  if (a.dtype !== b.dtype) {
    throw new OpError(
      node,
      `operands differ in dtype: ${a.dtype} vs ${b.dtype}.`,
    );
  }
  return a.dtype;
}

/** MatMul: numpy matrix product with batch broadcasting. */
const matmul: OpDef = {
  name: "MatMul",
  summary: "Numpy matmul: 1-D operands promoted, batch dims broadcast.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const a = inputType(ctx, 0);
    const b = inputType(ctx, 1);
    const dtype = commonDtype(ctx.node, a, b);
    return [{ dtype, shape: matmulShape(ctx.node, a.shape, b.shape).out }];
  },
  evaluate(inputs, node) {
    const a = inputTensor(node, inputs, 0);
    const b = inputTensor(node, inputs, 1);
    commonDtype(node, a, b);
    const s = matmulShape(node, a.shape, b.shape);
    const [m, k, n] = numeric([s.m, s.k, s.n]);
    const batch = numeric(s.batch);
    const indexA = broadcastIndex(numeric(s.batchA), batch);
    const indexB = broadcastIndex(numeric(s.batchB), batch);
    const values = new Float64Array(sizeOf(batch) * m * n);
    for (let p = 0; p < indexA.length; p++) {
      const offA = indexA[p] * m * k;
      const offB = indexB[p] * k * n;
      const offC = p * m * n;
      for (let i = 0; i < m; i++) {
        for (let kk = 0; kk < k; kk++) {
          const x = a.data[offA + i * k + kk];
          for (let j = 0; j < n; j++) {
            values[offC + i * n + j] += x * b.data[offB + kk * n + j];
          }
        }
      }
    }
    return [tensor(a.dtype, numeric(s.out), values)];
  },
};

/** Gemm's [M, K] × [K, N] dims after the transpose flags. */
function gemmDims(
  node: Node,
  a: readonly Dim[],
  b: readonly Dim[],
): [Dim, Dim, Dim] {
  if (a.length !== 2 || b.length !== 2) {
    throw new OpError(node, `A and B must be 2-D, got [${a}] and [${b}].`);
  }
  const [m, ka] = intAttr(node.attrs, "transA", 0)
    ? [a[1], a[0]]
    : [a[0], a[1]];
  const [kb, n] = intAttr(node.attrs, "transB", 0)
    ? [b[1], b[0]]
    : [b[0], b[1]];
  return [m, unifyDim(node, ka, kb, "inner dims differ"), n];
}

/** Checks that C broadcasts to [M, N] (unidirectionally). */
function checkBias(node: Node, c: readonly Dim[], m: Dim, n: Dim): void {
  const fits = c.length <= 2 && c.every((d, i) => {
    const target = [m, n][i + 2 - c.length];
    return d === 1 || typeof d === "string" || typeof target === "string" ||
      d === target;
  });
  if (!fits) {
    throw new OpError(
      node,
      `C of shape [${c}] does not broadcast to [${m},${n}].`,
    );
  }
}

/** Element (i, j) of a 2-D operand, read transposed when `trans`. */
function at(t: Tensor, trans: boolean, i: number, j: number): number {
  const cols = t.shape[1];
  return trans ? t.data[j * cols + i] : t.data[i * cols + j];
}

/** Gemm: alpha·A'·B' + beta·C with optional transposes and bias. */
const gemm: OpDef = {
  name: "Gemm",
  summary: "alpha·op(A)·op(B) + beta·C, op a transpose by transA/transB.",
  inputs: [2, 3],
  outputs: [1, 1],
  infer(ctx) {
    const a = inputType(ctx, 0);
    const b = inputType(ctx, 1);
    const dtype = commonDtype(ctx.node, a, b);
    const [m, , n] = gemmDims(ctx.node, a.shape, b.shape);
    const c = ctx.inputs[2];
    if (c !== undefined) checkBias(ctx.node, c.shape, m, n);
    return [{ dtype, shape: [m, n] }];
  },
  evaluate(inputs, node) {
    const a = inputTensor(node, inputs, 0);
    const b = inputTensor(node, inputs, 1);
    commonDtype(node, a, b);
    const [m, k, n] = numeric(gemmDims(node, a.shape, b.shape));
    const transA = intAttr(node.attrs, "transA", 0) !== 0;
    const transB = intAttr(node.attrs, "transB", 0) !== 0;
    const alpha = floatAttr(node.attrs, "alpha", 1);
    const beta = floatAttr(node.attrs, "beta", 1);
    const c = inputs[2];
    if (c !== undefined) checkBias(node, c.shape, m, n);
    const bias = c === undefined
      ? new Float64Array(m * n)
      : Float64Array.from(broadcastIndex(c.shape, [m, n]), (i) =>
        beta * c.data[i]);
    const values = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let kk = 0; kk < k; kk++) {
          sum += at(a, transA, i, kk) * at(b, transB, kk, j);
        }
        values[i * n + j] = alpha * sum + bias[i * n + j];
      }
    }
    return [tensor(a.dtype, [m, n], values)];
  },
};

/** The matrix-product operators. */
export const matmulOps: readonly OpDef[] = [matmul, gemm];
