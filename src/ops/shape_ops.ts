/**
 * Operators that rearrange or describe shapes: Reshape, Transpose,
 * Unsqueeze, Squeeze, Concat, Flatten, Shape, Size and Expand.
 *
 * @module
 */

import { sizeOf, stridesOf, tensor } from "../ir/tensor.ts";
import { broadcastIndex } from "./broadcast.ts";
import {
  checkIndexType,
  freshDim,
  freshDims,
  inputTensor,
  inputType,
  intValues,
  numeric,
  operandLength,
  productDim,
  reshaped,
  stridedCopy,
} from "./dims.ts";
import { normalizeAxis, type OpDef, OpError } from "./op_def.ts";
import {
  concatAxis,
  concatDims,
  expandDims,
  flattenAxis,
  permutation,
  reshapeDims,
  shapeRange,
  squeezeDims,
  unsqueezeDims,
} from "./shape_rules.ts";

/** Reshape: the same elements under a new shape (0 copies, -1 infers). */
const reshape: OpDef = {
  name: "Reshape",
  summary: "Same elements under a new shape; 0 copies a dim, -1 infers one.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    checkIndexType(ctx, 1);
    const target = ctx.values[1];
    const shape = target === undefined
      ? freshDims(ctx.node, operandLength(ctx, 1))
      : reshapeDims(ctx.node, x.shape, intValues(target));
    return [{ dtype: x.dtype, shape }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const target = intValues(inputTensor(node, inputs, 1));
    return [reshaped(x, numeric(reshapeDims(node, x.shape, target)))];
  },
};

/** Transpose: permutes the axes (reversed by default). */
const transpose: OpDef = {
  name: "Transpose",
  summary: "Permutes axes by `perm` (default: reversed).",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    const perm = permutation(ctx.node, x.shape.length);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const perm = permutation(node, x.shape.length);
    const strides = stridesOf(x.shape);
    return [
      stridedCopy(
        x,
        perm.map((p) => x.shape[p]),
        0,
        perm.map((p) => strides[p]),
      ),
    ];
  },
};

/** Unsqueeze: inserts size-1 dims at the given output axes. */
const unsqueeze: OpDef = {
  name: "Unsqueeze",
  summary: "Inserts size-1 dims at the output positions given by `axes`.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    checkIndexType(ctx, 1);
    const axes = ctx.values[1];
    const shape = axes === undefined
      ? freshDims(ctx.node, x.shape.length + operandLength(ctx, 1))
      : unsqueezeDims(ctx.node, x.shape, intValues(axes));
    return [{ dtype: x.dtype, shape }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const axes = intValues(inputTensor(node, inputs, 1));
    return [reshaped(x, numeric(unsqueezeDims(node, x.shape, axes)))];
  },
};

/** Squeeze: removes the given size-1 dims, or all of them. */
const squeeze: OpDef = {
  name: "Squeeze",
  summary: "Removes the size-1 dims at `axes` (all size-1 dims by default).",
  inputs: [1, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    checkIndexType(ctx, 1);
    if (ctx.inputs[1] !== undefined && ctx.values[1] === undefined) {
      const n = x.shape.length - operandLength(ctx, 1);
      if (n < 0) throw new OpError(ctx.node, "more axes than dims.");
      return [{ dtype: x.dtype, shape: freshDims(ctx.node, n) }];
    }
    const axes = ctx.values[1] && intValues(ctx.values[1]);
    return [{ dtype: x.dtype, shape: squeezeDims(ctx.node, x.shape, axes) }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const axes = inputs[1] && intValues(inputs[1]);
    return [reshaped(x, numeric(squeezeDims(node, x.shape, axes)))];
  },
};

/** Concat: joins tensors along `axis`. */
const concat: OpDef = {
  name: "Concat",
  summary: "Joins its inputs along `axis`.",
  inputs: [1, Infinity],
  outputs: [1, 1],
  infer(ctx) {
    const types = ctx.inputs.map((_, i) => inputType(ctx, i));
    const dtype = types[0].dtype;
    if (types.some((t) => t.dtype !== dtype)) {
      throw new OpError(ctx.node, "inputs have different dtypes.");
    }
    return [{ dtype, shape: concatDims(ctx.node, types.map((t) => t.shape)) }];
  },
  evaluate(inputs, node) {
    const xs = inputs.map((_, i) => inputTensor(node, inputs, i));
    const shape = numeric(concatDims(node, xs.map((x) => x.shape)));
    const axis = normalizeAxis(node, concatAxis(node), shape.length);
    const outer = sizeOf(shape.slice(0, axis));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const x of xs) {
        const chunk = sizeOf(x.shape.slice(axis));
        for (let k = 0; k < chunk; k++) values.push(x.data[o * chunk + k]);
      }
    }
    return [tensor(xs[0].dtype, shape, values)];
  },
};

/** Flatten: collapses the dims before and after `axis` into a matrix. */
const flatten: OpDef = {
  name: "Flatten",
  summary: "Collapses dims [0, axis) and [axis, rank) into a 2-D tensor.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    const a = flattenAxis(ctx.node, x.shape.length);
    const shape = [
      productDim(x.shape.slice(0, a), freshDim(ctx.node, 0)),
      productDim(x.shape.slice(a), freshDim(ctx.node, 1)),
    ];
    return [{ dtype: x.dtype, shape }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const a = flattenAxis(node, x.shape.length);
    return [
      reshaped(x, [sizeOf(x.shape.slice(0, a)), sizeOf(x.shape.slice(a))]),
    ];
  },
};

/** Shape: the input's dims in [start, end) as an i64 vector. */
const shapeOp: OpDef = {
  name: "Shape",
  summary: "The input's dims [start, end) as a 1-D i64 tensor.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const [start, end] = shapeRange(ctx.node, inputType(ctx, 0).shape.length);
    return [{ dtype: "i64", shape: [end - start] }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const [start, end] = shapeRange(node, x.shape.length);
    return [tensor("i64", [end - start], x.shape.slice(start, end))];
  },
};

/** Size: the input's element count as an i64 scalar. */
const size: OpDef = {
  name: "Size",
  summary: "The input's number of elements as an i64 scalar.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    inputType(ctx, 0);
    return [{ dtype: "i64", shape: [] }];
  },
  evaluate(inputs, node) {
    return [tensor("i64", [], [sizeOf(inputTensor(node, inputs, 0).shape)])];
  },
};

/** Expand: broadcasts the input against a shape operand. */
const expand: OpDef = {
  name: "Expand",
  summary: "Broadcasts the input with the shape operand (numpy rules).",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    checkIndexType(ctx, 1);
    const target = ctx.values[1];
    if (target !== undefined) {
      return [{
        dtype: x.dtype,
        shape: expandDims(ctx.node, x.shape, intValues(target)),
      }];
    }
    // A dim of the input other than 1 survives whatever the target says.
    const rank = Math.max(x.shape.length, operandLength(ctx, 1));
    const shape = Array.from({ length: rank }, (_, i) => {
      const d = x.shape[i - rank + x.shape.length];
      return d === undefined || d === 1 ? freshDim(ctx.node, i) : d;
    });
    return [{ dtype: x.dtype, shape }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const target = intValues(inputTensor(node, inputs, 1));
    const shape = numeric(expandDims(node, x.shape, target));
    const index = broadcastIndex(x.shape, shape);
    return [tensor(x.dtype, shape, Array.from(index, (k) => x.data[k]))];
  },
};

/** The shape-manipulating operators. */
export const shapeOps: readonly OpDef[] = [
  reshape,
  transpose,
  unsqueeze,
  squeeze,
  concat,
  flatten,
  shapeOp,
  size,
  expand,
];
