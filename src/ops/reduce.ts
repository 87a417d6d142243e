/**
 * Reductions over a set of axes (ReduceSum, ReduceMean, …), in their ONNX
 * opset-18 form: `axes` is an optional i64 1-D input; attributes `keepdims`
 * (default 1) and `noop_with_empty_axes` (default 0).
 *
 * Absent or empty `axes` reduce every axis, unless `noop_with_empty_axes` is
 * set: then no axis is reduced and each output element is the reduction of
 * its one input element (the ONNX 1.20 reading: ReduceSumSquare squares,
 * ReduceL2 takes |x|, the rest copy). A reduction over no values gives the
 * identity of the operation: 0 for sums, 1 for products, the lowest
 * (highest) value of the type for ReduceMax (ReduceMin), NaN for ReduceMean.
 *
 * @module
 */

import type { DType } from "../ir/dtype.ts";
import { type Dim, intAttr, type Node } from "../ir/graph.ts";
import { sizeOf, stridesOf, type Tensor, tensor } from "../ir/tensor.ts";
import {
  checkDType,
  type DTypeClass,
  fitToDType,
  operand,
} from "./elementwise.ts";
import { normalizeAxis, type OpDef, OpError } from "./op_def.ts";

/** How a reduction folds values: start value, step, and final touch. */
interface Aggregate {
  init(dtype: DType): number;
  step(acc: number, x: number): number;
  finish(acc: number, count: number): number;
}

const INT_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  i8: [-(2 ** 7), 2 ** 7 - 1],
  u8: [0, 2 ** 8 - 1],
  i16: [-(2 ** 15), 2 ** 15 - 1],
  u16: [0, 2 ** 16 - 1],
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u32: [0, 2 ** 32 - 1],
  i64: [-(2 ** 63), 2 ** 63],
  u64: [0, 2 ** 64],
  bool: [0, 1],
};

/** The lowest (`side` 0) or highest (`side` 1) value of a dtype. */
function extreme(dtype: DType, side: 0 | 1): number {
  const range = INT_RANGES[dtype];
  if (range !== undefined) return range[side];
  return side === 0 ? -Infinity : Infinity;
}

const sum = (acc: number, x: number) => acc + x;
const sumSquare = (acc: number, x: number) => acc + x * x;
const asIs = (acc: number) => acc;

/**
 * The reduced axes, as a flag per axis. `axes` undefined means the input was
 * omitted.
 */
function reducedAxes(
  node: Node,
  rank: number,
  axes: readonly number[] | undefined,
): boolean[] {
  if (axes === undefined || axes.length === 0) {
    const noop = intAttr(node.attrs, "noop_with_empty_axes", 0) !== 0;
    return new Array<boolean>(rank).fill(!noop);
  }
  const reduced = new Array<boolean>(rank).fill(false);
  for (const axis of axes) {
    const a = normalizeAxis(node, axis, rank);
    if (reduced[a]) throw new OpError(node, `axis ${axis} is repeated.`);
    reduced[a] = true;
  }
  return reduced;
}

function checkAxesType(node: Node, dtype: DType, rank: number): void {
  if (dtype !== "i64" || rank > 1) {
    throw new OpError(node, `axes must be a 1-D i64 tensor.`);
  }
}

function outputShape<D extends Dim>(
  node: Node,
  shape: readonly D[],
  reduced: readonly boolean[],
): (D | 1)[] {
  const keepdims = intAttr(node.attrs, "keepdims", 1) !== 0;
  const out: (D | 1)[] = [];
  shape.forEach((d, i) => {
    if (!reduced[i]) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduceOp(
  name: string,
  summary: string,
  cls: DTypeClass,
  agg: Aggregate,
): OpDef {
  return {
    name,
    summary,
    inputs: [1, 2],
    outputs: [1, 1],
    infer(ctx) {
      const data = operand(ctx.node, ctx.inputs, 0);
      checkDType(ctx.node, 0, data.dtype, cls);
      const axesType = ctx.inputs[1];
      let axes: readonly number[] | undefined;
      if (axesType !== undefined) {
        checkAxesType(ctx.node, axesType.dtype, axesType.shape.length);
        const value = ctx.values[1];
        if (value !== undefined) axes = Array.from(value.data);
        else if (axesType.shape[0] === 0) axes = [];
        else {
          throw new OpError(
            ctx.node,
            "axes must be a constant: the output shape depends on its value.",
          );
        }
      }
      const reduced = reducedAxes(ctx.node, data.shape.length, axes);
      return [{
        dtype: data.dtype,
        shape: outputShape(ctx.node, data.shape, reduced),
      }];
    },
    evaluate(inputs, node) {
      const data = operand(node, inputs, 0);
      checkDType(node, 0, data.dtype, cls);
      const axesTensor = inputs[1];
      if (axesTensor !== undefined) {
        checkAxesType(node, axesTensor.dtype, axesTensor.shape.length);
      }
      const axes = axesTensor && Array.from(axesTensor.data);
      const reduced = reducedAxes(node, data.shape.length, axes);
      return [reduce(node, data, reduced, agg)];
    },
  };
}

/** Folds `data` over the `reduced` axes with `agg`. */
function reduce(
  node: Node,
  data: Tensor,
  reduced: readonly boolean[],
  agg: Aggregate,
): Tensor {
  const shape = data.shape;
  const kept = shape.map((d, i) => reduced[i] ? 1 : d);
  // Where each input axis moves the output index: not at all if reduced.
  const step = stridesOf(kept).map((s, i) => reduced[i] ? 0 : s);
  const acc = new Array<number>(sizeOf(kept)).fill(agg.init(data.dtype));
  const counter = new Array<number>(shape.length).fill(0);
  let out = 0;
  for (let k = 0; k < data.data.length; k++) {
    acc[out] = agg.step(acc[out], data.data[k]);
    for (let d = shape.length - 1; d >= 0; d--) {
      counter[d]++;
      out += step[d];
      if (counter[d] < shape[d]) break;
      out -= step[d] * counter[d];
      counter[d] = 0;
    }
  }
  const count = sizeOf(shape.filter((_, i) => reduced[i]));
  const values = acc.map((a) => fitToDType(data.dtype, agg.finish(a, count)));
  return tensor(data.dtype, outputShape(node, shape, reduced), values);
}

/** Reductions over a set of axes. */
export const reduceOps: readonly OpDef[] = [
  reduceOp("ReduceSum", "Sum over axes.", "numeric", {
    init: () => 0,
    step: sum,
    finish: asIs,
  }),
  reduceOp("ReduceMean", "Mean over axes.", "numeric", {
    init: () => 0,
    step: sum,
    finish: (acc, count) => acc / count,
  }),
  reduceOp("ReduceProd", "Product over axes.", "numeric", {
    init: () => 1,
    step: (acc, x) => acc * x,
    finish: asIs,
  }),
  // Math.max/min propagate NaN, as numpy's reductions (the ONNX reference) do.
  reduceOp("ReduceMax", "Maximum over axes.", "any", {
    init: (dtype) => extreme(dtype, 0),
    step: Math.max,
    finish: asIs,
  }),
  reduceOp("ReduceMin", "Minimum over axes.", "any", {
    init: (dtype) => extreme(dtype, 1),
    step: Math.min,
    finish: asIs,
  }),
  reduceOp("ReduceSumSquare", "Sum of squares over axes.", "numeric", {
    init: () => 0,
    step: sumSquare,
    finish: asIs,
  }),
  reduceOp("ReduceL2", "Euclidean norm over axes.", "numeric", {
    init: () => 0,
    step: sumSquare,
    finish: Math.sqrt,
  }),
];
