/**
 * Normalisations: LayerNorm (ONNX LayerNormalization-17), Softmax and
 * LogSoftmax (opset-13 semantics: over one axis). Statistics are computed
 * in double and rounded once.
 *
 * @module
 */

import { type DType, isFloat } from "../ir/dtype.ts";
import {
  type Dim,
  floatAttr,
  intAttr,
  type Node,
  type ValueType,
} from "../ir/graph.ts";
import { sizeOf, type Tensor, tensor } from "../ir/tensor.ts";
import { broadcastIndex } from "./broadcast.ts";
import { forEachAxisLine, inputTensor, inputType } from "./dims.ts";
import { normalizeAxis, type OpDef, OpError } from "./op_def.ts";

/** Throws unless `t` holds floats. */
function checkFloat(node: Node, t: ValueType): void {
  if (!isFloat(t.dtype)) {
    throw new OpError(node, `needs a float input, got ${t.dtype}.`);
  }
}

/** The dtype of Mean and InvStdDev, from `stash_type` (an ONNX dtype code). */
function stashDtype(node: Node): DType {
  const code = intAttr(node.attrs, "stash_type", 1);
  if (code === 1) return "f32";
  if (code === 11) return "f64";
  throw new OpError(node, `unsupported stash_type ${code}.`);
}

/** Throws unless `operand` broadcasts to `target` without growing it. */
function checkBroadcastsTo(
  node: Node,
  what: string,
  operand: readonly Dim[],
  target: readonly Dim[],
): void {
  const offset = target.length - operand.length;
  const fits = offset >= 0 && operand.every((d, i) => {
    const t = target[offset + i];
    return d === 1 || d === t || typeof d === "string" || typeof t === "string";
  });
  if (!fits) {
    throw new OpError(
      node,
      `${what} [${operand}] does not broadcast to [${target}].`,
    );
  }
}

/** The elements of `t` broadcast to `shape`, flat. */
function spread(t: Tensor, shape: readonly number[]): Float64Array {
  return Float64Array.from(broadcastIndex(t.shape, shape), (k) => t.data[k]);
}

/** LayerNorm: normalises over dims [axis, rank), then scales and shifts. */
const layerNorm: OpDef = {
  name: "LayerNorm",
  summary:
    "ONNX LayerNormalization: normalise over dims [axis, rank), scale, shift.",
  inputs: [2, 3],
  outputs: [1, 3],
  infer(ctx) {
    const x = inputType(ctx, 0);
    checkFloat(ctx.node, x);
    const axis = normalizeAxis(
      ctx.node,
      intAttr(ctx.node.attrs, "axis", -1),
      x.shape.length,
    );
    checkBroadcastsTo(ctx.node, "Scale", inputType(ctx, 1).shape, x.shape);
    const b = ctx.inputs[2];
    if (b !== undefined) checkBroadcastsTo(ctx.node, "B", b.shape, x.shape);
    const stats = {
      dtype: stashDtype(ctx.node),
      shape: x.shape.map((d, i) => i < axis ? d : 1),
    };
    return [x, stats, stats].slice(0, ctx.node.outputs.length);
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const scale = inputTensor(node, inputs, 1);
    const bias = inputs[2];
    const axis = normalizeAxis(
      node,
      intAttr(node.attrs, "axis", -1),
      x.shape.length,
    );
    const epsilon = floatAttr(node.attrs, "epsilon", 1e-5);
    checkBroadcastsTo(node, "Scale", scale.shape, x.shape);
    if (bias !== undefined) checkBroadcastsTo(node, "B", bias.shape, x.shape);
    // Scale and B broadcast to X's full shape, like the ONNX function body.
    const scales = spread(scale, x.shape);
    const shifts = bias === undefined
      ? new Float64Array(x.data.length)
      : spread(bias, x.shape);
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis));
    const y = new Float64Array(x.data.length);
    const means = new Float64Array(outer);
    const invStdDevs = new Float64Array(outer);
    for (let o = 0; o < outer; o++) {
      const base = o * inner;
      let sum = 0;
      for (let k = 0; k < inner; k++) sum += x.data[base + k];
      const mean = sum / inner;
      let squares = 0;
      for (let k = 0; k < inner; k++) squares += (x.data[base + k] - mean) ** 2;
      const inv = 1 / Math.sqrt(squares / inner + epsilon);
      for (let k = 0; k < inner; k++) {
        const i = base + k;
        y[i] = (x.data[i] - mean) * inv * scales[i] + shifts[i];
      }
      means[o] = mean;
      invStdDevs[o] = inv;
    }
    const statsShape = x.shape.map((d, i) => i < axis ? d : 1);
    const stash = stashDtype(node);
    return [
      tensor(x.dtype, x.shape, y),
      tensor(stash, statsShape, means),
      tensor(stash, statsShape, invStdDevs),
    ].slice(0, node.outputs.length);
  },
};

/**
 * Softmax or LogSoftmax over one axis of `x`, shifted by the maximum so
 * large inputs do not overflow.
 */
function softmaxAlong(node: Node, x: Tensor, log: boolean): Tensor {
  const y = new Float64Array(x.data.length);
  forEachAxisLine(node, x.shape, (at, dim) => {
    let max = -Infinity;
    for (let d = 0; d < dim; d++) max = Math.max(max, x.data[at(d)]);
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += Math.exp(x.data[at(d)] - max);
    for (let d = 0; d < dim; d++) {
      const shifted = x.data[at(d)] - max;
      y[at(d)] = log ? shifted - Math.log(sum) : Math.exp(shifted) / sum;
    }
  });
  return tensor(x.dtype, x.shape, y);
}

/** A Softmax-like operator over one axis. */
function softmaxOp(name: string, summary: string, log: boolean): OpDef {
  return {
    name,
    summary,
    inputs: [1, 1],
    outputs: [1, 1],
    infer(ctx) {
      const x = inputType(ctx, 0);
      checkFloat(ctx.node, x);
      normalizeAxis(
        ctx.node,
        intAttr(ctx.node.attrs, "axis", -1),
        x.shape.length,
      );
      return [x];
    },
    evaluate(inputs, node) {
      return [softmaxAlong(node, inputTensor(node, inputs, 0), log)];
    },
  };
}

/** The normalisation operators. */
export const normalizationOps: readonly OpDef[] = [
  layerNorm,
  softmaxOp("Softmax", "exp(x)/Σexp(x) along `axis` (default -1).", false),
  softmaxOp("LogSoftmax", "log of Softmax along `axis` (default -1).", true),
];
