/**
 * Helpers shared by the operator definitions here: reading required
 * inputs, symbolic dims, and strided copies.
 *
 * @module
 */

import { type Dim, intAttr, type Node, type ValueType } from "../ir/graph.ts";
import { sizeOf, type Tensor, tensor } from "../ir/tensor.ts";
import { type InferContext, normalizeAxis, OpError } from "./op_def.ts";

/**
 * A fresh symbolic dim for output dim `i` of `node` (or of its output
 * `output` when it has several), used where a dim cannot be known before
 * run time.
 */
export function freshDim(node: Node, i: number, output = 0): string {
  return output === 0 ? `${node.name}:d${i}` : `${node.name}:o${output}:d${i}`;
}

/** The type of required input `i`, or an {@linkcode OpError}. */
export function inputType(ctx: InferContext, i: number): ValueType {
  const t = ctx.inputs[i];
  if (t === undefined) throw new OpError(ctx.node, `input ${i} is required.`);
  return t;
}

/** Required input tensor `i` at run time, or an {@linkcode OpError}. */
export function inputTensor(
  node: Node,
  inputs: readonly (Tensor | undefined)[],
  i: number,
): Tensor {
  const t = inputs[i];
  if (t === undefined) throw new OpError(node, `input ${i} is required.`);
  return t;
}

/** The elements of a tensor as plain numbers (e.g. an i64 shape operand). */
export function intValues(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number>);
}

/** Throws unless input `i`, where present, has an integer index type. */
export function checkIndexType(ctx: InferContext, i: number): void {
  const t = ctx.inputs[i];
  if (t !== undefined && t.dtype !== "i64" && t.dtype !== "i32") {
    throw new OpError(
      ctx.node,
      `input ${i} must be i64 or i32, got ${t.dtype}.`,
    );
  }
}

/**
 * The length of a 1-D operand (a shape, a list of axes) when its own shape
 * is known, else an {@linkcode OpError}: without it the output rank is
 * unknown, which a {@linkcode ValueType} cannot express.
 */
export function operandLength(ctx: InferContext, i: number): number {
  const t = inputType(ctx, i);
  const n = t.shape.length === 0 ? 1 : t.shape[0];
  if (t.shape.length > 1 || typeof n !== "number") {
    throw new OpError(
      ctx.node,
      `input ${i} must be a 1-D tensor of known length, got [${t.shape}].`,
    );
  }
  return n;
}

/**
 * The product of some dims: a number when all are numbers, the lone symbol
 * when the numbers multiply to 1, else `fallback`.
 */
export function productDim(dims: readonly Dim[], fallback: Dim): Dim {
  let n = 1;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === "number") n *= d;
    else symbols.push(d);
  }
  if (symbols.length === 0) return n;
  if (n === 0) return 0;
  return symbols.length === 1 && n === 1 ? symbols[0] : fallback;
}

/**
 * Two dims that must agree: the number when one is known, else `a`; an
 * {@linkcode OpError} naming `what` when two numbers differ.
 */
export function unifyDim(node: Node, a: Dim, b: Dim, what: string): Dim {
  if (typeof a === "number" && typeof b === "number" && a !== b) {
    throw new OpError(node, `${what}: ${a} vs ${b}.`);
  }
  return typeof a === "number" ? a : b;
}

/**
 * A tensor of `shape` whose element at multi-index `i` is the source element
 * at flat offset `offset + Σ i[d]·strides[d]`: the common form of transpose,
 * slice and broadcast.
 */
export function stridedCopy(
  src: Tensor,
  shape: readonly number[],
  offset: number,
  strides: readonly number[],
): Tensor {
  const n = sizeOf(shape);
  const values = new Array<number>(n);
  const rank = shape.length;
  const counter = new Array<number>(rank).fill(0);
  let flat = offset;
  for (let k = 0; k < n; k++) {
    values[k] = src.data[flat];
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      flat += strides[d];
      if (counter[d] < shape[d]) break;
      flat -= strides[d] * counter[d];
      counter[d] = 0;
    }
  }
  return tensor(src.dtype, shape, values);
}

/** The same elements under another shape (a copy; tensors are immutable). */
export function reshaped(src: Tensor, shape: readonly number[]): Tensor {
  return tensor(src.dtype, shape, src.data);
}

/** Fresh symbolic dims `0..n-1` of a node's first output. */
export function freshDims(node: Node, n: number): Dim[] {
  return Array.from({ length: n }, (_, i) => freshDim(node, i));
}

/** Dims known to be numbers: those computed from run-time tensors. */
export function numeric(dims: readonly Dim[]): number[] {
  return dims as number[];
}

/**
 * Calls `visit` once per line of `shape` along the node's `axis` attribute
 * (default −1), with the line's length and the flat index of its d-th
 * element — the loop every per-axis reduction like Softmax needs.
 */
export function forEachAxisLine(
  node: Node,
  shape: readonly number[],
  visit: (at: (d: number) => number, dim: number) => void,
): void {
  const axis = normalizeAxis(
    node,
    intAttr(node.attrs, "axis", -1),
    shape.length,
  );
  const outer = sizeOf(shape.slice(0, axis));
  const dim = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      visit((d) => (o * dim + d) * inner + i, dim);
    }
  }
}
