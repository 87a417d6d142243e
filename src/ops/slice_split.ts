/**
 * Slice and Split: taking parts of a tensor along axes.
 *
 * @module
 */

import { type Dim, intAttr, type Node } from "../ir/graph.ts";
import { stridesOf, type Tensor } from "../ir/tensor.ts";
import {
  checkIndexType,
  freshDim,
  inputTensor,
  inputType,
  intValues,
  operandLength,
  stridedCopy,
} from "./dims.ts";
import {
  type InferContext,
  normalizeAxis,
  type OpDef,
  OpError,
} from "./op_def.ts";

/**
 * Bounds at or beyond this mean "past the end" whatever the dim: exporters
 * write INT64_MAX/INT64_MIN (and sometimes INT32_MAX) for an open slice.
 */
const OPEN = 2 ** 31 - 1;

/** One sliced axis: first index, step, and number of elements taken. */
interface AxisSlice {
  start: number;
  step: number;
  count: number;
}

/** The operands of a Slice, with defaults for the optional ones. */
interface SliceOperands {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

/** Checks and completes Slice's operands for a tensor of `rank`. */
function sliceOperands(
  node: Node,
  rank: number,
  starts: number[],
  ends: number[],
  axes: number[] | undefined,
  steps: number[] | undefined,
): SliceOperands {
  const n = starts.length;
  const allAxes = (axes ?? starts.map((_, i) => i)).map((a) =>
    normalizeAxis(node, a, rank)
  );
  const allSteps = steps ?? starts.map(() => 1);
  if (ends.length !== n || allAxes.length !== n || allSteps.length !== n) {
    throw new OpError(node, "starts, ends, axes and steps differ in length.");
  }
  if (new Set(allAxes).size !== n) {
    throw new OpError(node, `duplicate axes [${allAxes}].`);
  }
  if (allSteps.includes(0)) throw new OpError(node, "steps must not be 0.");
  return { starts, ends, axes: allAxes, steps: allSteps };
}

/** ONNX's clamping of one axis's bounds, for a known dim. */
function sliceAxis(
  dim: number,
  start: number,
  end: number,
  step: number,
): AxisSlice {
  const clamp = (v: number, lo: number, hi: number) =>
    Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  return {
    start: s,
    step,
    count: Math.max(0, Math.ceil((e - s) / step)),
  };
}

/**
 * The count of a symbolic axis: the same symbol for a slice that provably
 * takes the whole axis (forwards or reversed), else a fresh symbol.
 */
function symbolicCount(
  node: Node,
  dim: string,
  axis: number,
  start: number,
  end: number,
  step: number,
): Dim {
  const forwards = step === 1 && (start === 0 || start <= -OPEN) && end >= OPEN;
  const backwards = step === -1 && (start === -1 || start >= OPEN) &&
    end <= -OPEN;
  return forwards || backwards ? dim : freshDim(node, axis);
}

/** Output dims of a Slice with known operands. */
function sliceDims(
  node: Node,
  shape: readonly Dim[],
  ops: SliceOperands,
): Dim[] {
  const out = [...shape];
  ops.axes.forEach((axis, i) => {
    const dim = shape[axis];
    const [start, end, step] = [ops.starts[i], ops.ends[i], ops.steps[i]];
    out[axis] = typeof dim === "number"
      ? sliceAxis(dim, start, end, step).count
      : symbolicCount(node, dim, axis, start, end, step);
  });
  return out;
}

/** Output dims of a Slice whose operands are not all known. */
function unknownSliceDims(ctx: InferContext, shape: readonly Dim[]): Dim[] {
  const axes = ctx.values[3];
  if (ctx.inputs[3] !== undefined && axes === undefined) {
    return shape.map((_, i) => freshDim(ctx.node, i));
  }
  const sliced = axes === undefined
    ? Array.from({ length: operandLength(ctx, 1) }, (_, i) => i)
    : intValues(axes).map((a) => normalizeAxis(ctx.node, a, shape.length));
  return shape.map((d, i) => sliced.includes(i) ? freshDim(ctx.node, i) : d);
}

/** Slice: strided ranges along some axes, with ONNX clamping. */
const slice: OpDef = {
  name: "Slice",
  summary: "Takes [start, end) by step along the given axes (clamped).",
  inputs: [3, 5],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    for (let i = 1; i < 5; i++) checkIndexType(ctx, i);
    const [, starts, ends, axes, steps] = ctx.values;
    const known = starts !== undefined && ends !== undefined &&
      (ctx.inputs[3] === undefined || axes !== undefined) &&
      (ctx.inputs[4] === undefined || steps !== undefined);
    if (!known) {
      return [{ dtype: x.dtype, shape: unknownSliceDims(ctx, x.shape) }];
    }
    const ops = sliceOperands(
      ctx.node,
      x.shape.length,
      intValues(starts),
      intValues(ends),
      axes && intValues(axes),
      steps && intValues(steps),
    );
    return [{ dtype: x.dtype, shape: sliceDims(ctx.node, x.shape, ops) }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const ops = sliceOperands(
      node,
      x.shape.length,
      intValues(inputTensor(node, inputs, 1)),
      intValues(inputTensor(node, inputs, 2)),
      inputs[3] && intValues(inputs[3]),
      inputs[4] && intValues(inputs[4]),
    );
    const inStrides = stridesOf(x.shape);
    const shape = [...x.shape];
    const strides = [...inStrides];
    let offset = 0;
    ops.axes.forEach((axis, i) => {
      const s = sliceAxis(
        x.shape[axis],
        ops.starts[i],
        ops.ends[i],
        ops.steps[i],
      );
      shape[axis] = s.count;
      strides[axis] = inStrides[axis] * s.step;
      offset += inStrides[axis] * s.start;
    });
    return [stridedCopy(x, shape, offset, strides)];
  },
};

/**
 * Split's part sizes along the axis, or `undefined` when they cannot be
 * known yet. Without a `split` operand the parts are equal, the last one
 * smaller when the dim does not divide (opset 18).
 */
function splitSizes(
  node: Node,
  dim: Dim,
  split: Tensor | undefined,
  hasSplit: boolean,
): number[] | undefined {
  const parts = node.outputs.length;
  const numOutputs = intAttr(node.attrs, "num_outputs", 0);
  if (hasSplit && numOutputs !== 0) {
    throw new OpError(
      node,
      "give either a split operand or num_outputs, not both.",
    );
  }
  if (numOutputs !== 0 && numOutputs !== parts) {
    throw new OpError(
      node,
      `num_outputs is ${numOutputs} but the node has ${parts} outputs.`,
    );
  }
  if (split !== undefined) {
    const sizes = intValues(split);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (sizes.length !== parts || sizes.some((s) => s < 0)) {
      throw new OpError(
        node,
        `split [${sizes}] does not give ${parts} sizes ≥ 0.`,
      );
    }
    if (typeof dim === "number" && total !== dim) {
      throw new OpError(node, `split [${sizes}] does not sum to ${dim}.`);
    }
    return sizes;
  }
  if (hasSplit || typeof dim !== "number") return undefined;
  const chunk = Math.ceil(dim / parts);
  const last = dim - chunk * (parts - 1);
  if (last < 0) {
    throw new OpError(node, `cannot split ${dim} into ${parts} parts.`);
  }
  return [...new Array<number>(parts - 1).fill(chunk), last];
}

/** Split: cuts a tensor into consecutive parts along `axis`. */
const split: OpDef = {
  name: "Split",
  summary:
    "Cuts the input along `axis` into parts of the given or equal sizes.",
  inputs: [1, 2],
  outputs: [1, Infinity],
  infer(ctx) {
    const x = inputType(ctx, 0);
    checkIndexType(ctx, 1);
    const axis = normalizeAxis(
      ctx.node,
      intAttr(ctx.node.attrs, "axis", 0),
      x.shape.length,
    );
    const sizes = splitSizes(
      ctx.node,
      x.shape[axis],
      ctx.values[1],
      ctx.inputs[1] !== undefined,
    );
    return ctx.node.outputs.map((_, j) => {
      const shape = [...x.shape];
      shape[axis] = sizes === undefined
        ? freshDim(ctx.node, axis, j)
        : sizes[j];
      return { dtype: x.dtype, shape };
    });
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const axis = normalizeAxis(
      node,
      intAttr(node.attrs, "axis", 0),
      x.shape.length,
    );
    // A run-time dim is a number, so the sizes are always known here.
    const sizes = splitSizes(
      node,
      x.shape[axis],
      inputs[1],
      inputs[1] !== undefined,
    )!;
    const strides = stridesOf(x.shape);
    let start = 0;
    return sizes.map((n) => {
      const shape = [...x.shape];
      shape[axis] = n;
      const part = stridedCopy(x, shape, start * strides[axis], strides);
      start += n;
      return part;
    });
  },
};

/** The slicing operators. */
export const sliceSplitOps: readonly OpDef[] = [slice, split];
