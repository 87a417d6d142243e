/**
 * Operators whose output shape comes from input values: ConstantOfShape,
 * Range and NonZero.
 *
 * @module
 */

import type { Node } from "../ir/graph.ts";
import { sizeOf, stridesOf, type Tensor, tensor } from "../ir/tensor.ts";
import {
  checkIndexType,
  freshDim,
  freshDims,
  inputTensor,
  inputType,
  intValues,
  operandLength,
} from "./dims.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** ConstantOfShape's fill value: the one-element `value` tensor, or f32 0. */
function fillValue(node: Node): Tensor {
  const a = node.attrs.value;
  if (a === undefined) return tensor("f32", [], [0]);
  if (a.kind !== "tensor" || a.value.data.length !== 1) {
    throw new OpError(node, "attribute 'value' must be a one-element tensor.");
  }
  return a.value;
}

/** A shape operand's values, checked to be valid dims. */
function dimsOf(node: Node, shape: Tensor): number[] {
  const dims = intValues(shape);
  if (dims.some((d) => d < 0 || !Number.isInteger(d))) {
    throw new OpError(node, `invalid shape [${dims}].`);
  }
  return dims;
}

/** ConstantOfShape: a tensor of the given shape filled with one value. */
const constantOfShape: OpDef = {
  name: "ConstantOfShape",
  summary: "A tensor of the shape operand filled with attribute `value`.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    checkIndexType(ctx, 0);
    const dtype = fillValue(ctx.node).dtype;
    const shape = ctx.values[0];
    return [{
      dtype,
      shape: shape === undefined
        ? freshDims(ctx.node, operandLength(ctx, 0))
        : dimsOf(ctx.node, shape),
    }];
  },
  evaluate(inputs, node) {
    const value = fillValue(node);
    const shape = dimsOf(node, inputTensor(node, inputs, 0));
    const values = new Array<number>(sizeOf(shape)).fill(value.data[0]);
    return [tensor(value.dtype, shape, values)];
  },
};

/** Number of elements of Range(start, limit, delta). */
function rangeLength(
  node: Node,
  start: number,
  limit: number,
  delta: number,
): number {
  if (delta === 0) throw new OpError(node, "delta must not be 0.");
  return Math.max(Math.ceil((limit - start) / delta), 0);
}

/** The one value of a scalar operand. */
function scalarOf(node: Node, t: Tensor): number {
  if (t.data.length !== 1) {
    throw new OpError(
      node,
      `operand must be a scalar, got shape [${t.shape}].`,
    );
  }
  return t.data[0];
}

/** Range: start, start + delta, … up to but excluding limit. */
const range: OpDef = {
  name: "Range",
  summary: "The 1-D sequence start, start + delta, … before limit.",
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const types = [0, 1, 2].map((i) => inputType(ctx, i));
    if (types.some((t) => t.dtype !== types[0].dtype)) {
      throw new OpError(ctx.node, "start, limit and delta differ in dtype.");
    }
    const [start, limit, delta] = ctx.values;
    const n = start && limit && delta
      ? rangeLength(
        ctx.node,
        scalarOf(ctx.node, start),
        scalarOf(ctx.node, limit),
        scalarOf(ctx.node, delta),
      )
      : freshDim(ctx.node, 0);
    return [{ dtype: types[0].dtype, shape: [n] }];
  },
  evaluate(inputs, node) {
    const [start, limit, delta] = [0, 1, 2].map((i) =>
      scalarOf(node, inputTensor(node, inputs, i))
    );
    const n = rangeLength(node, start, limit, delta);
    const values = Array.from({ length: n }, (_, i) => start + i * delta);
    return [tensor(inputTensor(node, inputs, 0).dtype, [n], values)];
  },
};

/** Flat positions of the non-zero elements of `t`. */
function nonZeroPositions(t: Tensor): number[] {
  const positions: number[] = [];
  for (let k = 0; k < t.data.length; k++) {
    if (t.data[k] !== 0) positions.push(k);
  }
  return positions;
}

/** NonZero: the indices of the non-zero elements, one column each. */
const nonZero: OpDef = {
  name: "NonZero",
  summary: "Indices of the non-zero elements as an i64 [rank, count] tensor.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    const value = ctx.values[0];
    const count = value === undefined
      ? freshDim(ctx.node, 1)
      : nonZeroPositions(value).length;
    return [{ dtype: "i64", shape: [x.shape.length, count] }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const positions = nonZeroPositions(x);
    const strides = stridesOf(x.shape);
    const n = positions.length;
    const values = new Array<number>(x.shape.length * n);
    positions.forEach((flat, j) => {
      strides.forEach((s, d) => {
        values[d * n + j] = Math.floor(flat / s) % x.shape[d];
      });
    });
    return [tensor("i64", [x.shape.length, n], values)];
  },
};

/** The operators that generate values from shapes and scalars. */
export const generatorOps: readonly OpDef[] = [constantOfShape, range, nonZero];
