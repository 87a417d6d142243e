/**
 * Backward operators that the autodiff pass emits where a composite
 * gradient reads better as one node than as a chain of primitives:
 * LayerNormGrad, GeluGrad, SoftmaxGrad, TanhGrad, GatherGrad and SliceGrad
 * — and, so the registry takes one list, the training-mode dropout pair
 * (`dropout_train.ts`) and the losses (`loss_ops.ts`).
 *
 * Like every reference kernel here they compute in double and round once to
 * the gradient's dtype.
 *
 * @module
 */

import { isFloat } from "../ir/dtype.ts";
import {
  floatAttr,
  intAttr,
  intsAttr,
  type Node,
  stringAttr,
  type ValueType,
} from "../ir/graph.ts";
import { sizeOf, tensor } from "../ir/tensor.ts";
import { broadcastIndex } from "./broadcast.ts";
import { forEachAxisLine, inputTensor, inputType } from "./dims.ts";
import { dropoutTrainOps } from "./dropout_train.ts";
import { erf } from "./erf.ts";
import { lossOps } from "./loss_ops.ts";
import { normalizeAxis, type OpDef, OpError } from "./op_def.ts";
import { sliceSplitOps } from "./slice_split.ts";

/** Throws unless `t` holds floats. */
function checkFloat(node: Node, t: ValueType): void {
  if (!isFloat(t.dtype)) {
    throw new OpError(node, `needs a float gradient, got ${t.dtype}.`);
  }
}

/** Throws unless two shapes are equal. */
function checkSameShape(
  node: Node,
  a: readonly unknown[],
  b: readonly unknown[],
): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new OpError(node, `shapes [${a}] and [${b}] differ.`);
  }
}

/** An elementwise `f(dy, z)` over two same-shaped operands. */
function pointwiseGrad(
  name: string,
  summary: string,
  f: (dy: number, z: number, node: Node) => number,
): OpDef {
  return {
    name,
    summary,
    inputs: [2, 2],
    outputs: [1, 1],
    infer(ctx) {
      const dy = inputType(ctx, 0);
      checkFloat(ctx.node, dy);
      checkSameShape(ctx.node, dy.shape, inputType(ctx, 1).shape);
      return [dy];
    },
    evaluate(inputs, node) {
      const dy = inputTensor(node, inputs, 0);
      const z = inputTensor(node, inputs, 1);
      checkSameShape(node, dy.shape, z.shape);
      const values = Array.from(dy.data, (g, k) => f(g, z.data[k], node));
      return [tensor(dy.dtype, dy.shape, values)];
    },
  };
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** d/dx of x·Φ(x), exactly or by the tanh approximation. */
function geluDerivative(x: number, node: Node): number {
  const mode = stringAttr(node.attrs, "approximate", "none");
  if (mode === "tanh") {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3));
    const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
  }
  if (mode !== "none") {
    throw new OpError(node, `approximate must be "none" or "tanh".`);
  }
  return 0.5 * (1 + erf(x / Math.SQRT2)) +
    x * INV_SQRT_2PI * Math.exp(-x * x / 2);
}

/** The outer (before `axis`) and inner (from `axis`) element counts. */
function splitAt(shape: readonly number[], axis: number): [number, number] {
  return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis))];
}

/**
 * LayerNormGrad(dy, x, scale) {axis, epsilon} → dx, dscale, dbias: the
 * backward of `y = (x−μ)·r·scale + bias` with r = 1/√(σ²+ε) over dims
 * [axis, rank). With g = dy·scale and x̂ = (x−μ)·r:
 * dx = r·(g − mean(g) − x̂·mean(g·x̂)), dscale = Σ dy·x̂, dbias = Σ dy, the
 * sums taken over every element that the scale (or bias) is broadcast to.
 * dbias has the scale's shape.
 */
const layerNormGrad: OpDef = {
  name: "LayerNormGrad",
  summary: "Backward of LayerNorm: dx, dscale, dbias (recomputes the stats).",
  inputs: [3, 3],
  outputs: [1, 3],
  infer(ctx) {
    const dy = inputType(ctx, 0);
    const x = inputType(ctx, 1);
    checkFloat(ctx.node, dy);
    checkSameShape(ctx.node, dy.shape, x.shape);
    normalizeAxis(
      ctx.node,
      intAttr(ctx.node.attrs, "axis", -1),
      x.shape.length,
    );
    const scale = { dtype: dy.dtype, shape: inputType(ctx, 2).shape };
    return [dy, scale, scale].slice(0, ctx.node.outputs.length);
  },
  evaluate(inputs, node) {
    const [dy, x, scale] = [0, 1, 2].map((i) => inputTensor(node, inputs, i));
    checkSameShape(node, dy.shape, x.shape);
    const axis = normalizeAxis(
      node,
      intAttr(node.attrs, "axis", -1),
      x.shape.length,
    );
    const epsilon = floatAttr(node.attrs, "epsilon", 1e-5);
    const toScale = broadcastIndex(scale.shape, x.shape);
    const [outer, inner] = splitAt(x.shape, axis);
    const dx = new Float64Array(x.data.length);
    const dscale = new Float64Array(scale.data.length);
    const dbias = new Float64Array(scale.data.length);
    const xhat = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      const base = o * inner;
      let sum = 0;
      for (let k = 0; k < inner; k++) sum += x.data[base + k];
      const mean = sum / inner;
      let squares = 0;
      for (let k = 0; k < inner; k++) squares += (x.data[base + k] - mean) ** 2;
      const r = 1 / Math.sqrt(squares / inner + epsilon);
      let meanG = 0;
      let meanGX = 0;
      for (let k = 0; k < inner; k++) {
        const i = base + k;
        xhat[k] = (x.data[i] - mean) * r;
        const g = dy.data[i] * scale.data[toScale[i]];
        meanG += g / inner;
        meanGX += g * xhat[k] / inner;
        dscale[toScale[i]] += dy.data[i] * xhat[k];
        dbias[toScale[i]] += dy.data[i];
      }
      for (let k = 0; k < inner; k++) {
        const i = base + k;
        const g = dy.data[i] * scale.data[toScale[i]];
        dx[i] = r * (g - meanG - xhat[k] * meanGX);
      }
    }
    return [
      tensor(dy.dtype, x.shape, dx),
      tensor(dy.dtype, scale.shape, dscale),
      tensor(dy.dtype, scale.shape, dbias),
    ].slice(0, node.outputs.length);
  },
};

/** SoftmaxGrad(dy, y) {axis}: dx = y·(dy − Σ_axis dy·y). */
const softmaxGrad: OpDef = {
  name: "SoftmaxGrad",
  summary: "Backward of Softmax from its output: y·(dy − Σ dy·y) along axis.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const dy = inputType(ctx, 0);
    checkFloat(ctx.node, dy);
    checkSameShape(ctx.node, dy.shape, inputType(ctx, 1).shape);
    normalizeAxis(
      ctx.node,
      intAttr(ctx.node.attrs, "axis", -1),
      dy.shape.length,
    );
    return [dy];
  },
  evaluate(inputs, node) {
    const dy = inputTensor(node, inputs, 0);
    const y = inputTensor(node, inputs, 1);
    checkSameShape(node, dy.shape, y.shape);
    const dx = new Float64Array(dy.data.length);
    forEachAxisLine(node, dy.shape, (at, dim) => {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += dy.data[at(d)] * y.data[at(d)];
      for (let d = 0; d < dim; d++) {
        dx[at(d)] = y.data[at(d)] * (dy.data[at(d)] - dot);
      }
    });
    return [tensor(dy.dtype, dy.shape, dx)];
  },
};

/** Shape of GatherGrad's output: dy's with the gathered dims folded back. */
function gatherGradShape<D>(
  node: Node,
  dy: readonly D[],
  indexRank: number,
): (D | number)[] {
  const axis = intAttr(node.attrs, "axis", 0);
  const rows = intAttr(node.attrs, "rows", -1);
  if (axis < 0 || axis + indexRank > dy.length || rows < 1) {
    throw new OpError(node, "needs axis ≥ 0 within dy's rank and rows ≥ 1.");
  }
  return [...dy.slice(0, axis), rows, ...dy.slice(axis + indexRank)];
}

/**
 * GatherGrad(dy, indices) {axis, rows}: the backward of
 * `y = Gather(data, indices) {axis}` for a data dim of `rows`: a zero table
 * into which each slice of dy is added at its index (repeated indices
 * accumulate).
 */
const gatherGrad: OpDef = {
  name: "GatherGrad",
  summary: "Backward of Gather: scatter-add dy's slices into a zero table.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const dy = inputType(ctx, 0);
    checkFloat(ctx.node, dy);
    const rank = inputType(ctx, 1).shape.length;
    return [{
      dtype: dy.dtype,
      shape: gatherGradShape(ctx.node, dy.shape, rank),
    }];
  },
  evaluate(inputs, node) {
    const dy = inputTensor(node, inputs, 0);
    const indices = inputTensor(node, inputs, 1);
    const shape = gatherGradShape(node, dy.shape, indices.shape.length);
    const axis = intAttr(node.attrs, "axis", 0);
    const rows = shape[axis];
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    const out = new Float64Array(sizeOf(shape));
    let k = 0;
    for (let o = 0; o < outer; o++) {
      for (const index of indices.data) {
        const row = index < 0 ? index + rows : index;
        if (row < 0 || row >= rows) {
          throw new OpError(
            node,
            `index ${index} is out of range for ${rows}.`,
          );
        }
        const base = (o * rows + row) * inner;
        for (let j = 0; j < inner; j++) out[base + j] += dy.data[k++];
      }
    }
    return [tensor(dy.dtype, shape, out)];
  },
};

const SLICE = sliceSplitOps.find((op) => op.name === "Slice")!;

/** SliceGrad's `shape` attribute: the forward input's shape. */
function sliceGradShape(node: Node): number[] {
  const shape = intsAttr(node.attrs, "shape");
  if (shape === undefined) throw new OpError(node, "needs a shape attribute.");
  return [...shape];
}

/**
 * SliceGrad(dy, starts, ends, axes?, steps?) {shape}: the backward of
 * `y = Slice(x, starts, ends, axes, steps)` for x of `shape`: zeros, with dy
 * added where the slice took its elements.
 */
const sliceGrad: OpDef = {
  name: "SliceGrad",
  summary:
    "Backward of Slice: dy placed where the slice read, zeros elsewhere.",
  inputs: [3, 5],
  outputs: [1, 1],
  infer(ctx) {
    const dy = inputType(ctx, 0);
    checkFloat(ctx.node, dy);
    return [{ dtype: dy.dtype, shape: sliceGradShape(ctx.node) }];
  },
  evaluate(inputs, node) {
    const dy = inputTensor(node, inputs, 0);
    const shape = sliceGradShape(node);
    // Slicing the flat positions says where each element of dy came from.
    const positions = tensor(
      "f64",
      shape,
      Array.from({ length: sizeOf(shape) }, (_, i) => i),
    );
    const [taken] = SLICE.evaluate([positions, ...inputs.slice(1)], node);
    checkSameShape(node, taken.shape, dy.shape);
    const out = new Float64Array(positions.data.length);
    taken.data.forEach((p, k) => out[p] += dy.data[k]);
    return [tensor(dy.dtype, shape, out)];
  },
};

/** The operators of training: backward ops, training dropout and losses. */
export const gradientOps: readonly OpDef[] = [
  layerNormGrad,
  softmaxGrad,
  pointwiseGrad(
    "GeluGrad",
    "Backward of Gelu from its input: dy·Gelu'(x) (`approximate` as Gelu).",
    (dy, x, node) => dy * geluDerivative(x, node),
  ),
  pointwiseGrad(
    "TanhGrad",
    "Backward of Tanh from its output: dy·(1 − y²).",
    (dy, y) => dy * (1 - y * y),
  ),
  gatherGrad,
  sliceGrad,
  ...dropoutTrainOps,
  ...lossOps,
];
