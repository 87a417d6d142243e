/**
 * Indexed reads: Gather (whole slices by index) and GatherElements (one
 * element per index).
 *
 * @module
 */

import { intAttr, type Node } from "../ir/graph.ts";
import { sizeOf, stridesOf, type Tensor, tensor } from "../ir/tensor.ts";
import { checkIndexType, inputTensor, inputType } from "./dims.ts";
import { normalizeAxis, type OpDef, OpError } from "./op_def.ts";

/** An index into a dim of size `dim`, negative counting from the end. */
function resolveIndex(node: Node, index: number, dim: number): number {
  const i = index < 0 ? index + dim : index;
  if (i < 0 || i >= dim) {
    throw new OpError(
      node,
      `index ${index} is out of range for a dim of ${dim}.`,
    );
  }
  return i;
}

/** The normalised `axis` attribute against `rank`. */
function axisOf(node: Node, rank: number): number {
  return normalizeAxis(node, intAttr(node.attrs, "axis", 0), rank);
}

/** Gather: slices of `data` along `axis` picked by `indices`. */
const gather: OpDef = {
  name: "Gather",
  summary:
    "Picks slices of data along `axis` by indices (negative from the end).",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const data = inputType(ctx, 0);
    const indices = inputType(ctx, 1);
    checkIndexType(ctx, 1);
    const axis = axisOf(ctx.node, data.shape.length);
    const shape = [
      ...data.shape.slice(0, axis),
      ...indices.shape,
      ...data.shape.slice(axis + 1),
    ];
    return [{ dtype: data.dtype, shape }];
  },
  evaluate(inputs, node) {
    const data = inputTensor(node, inputs, 0);
    const indices = inputTensor(node, inputs, 1);
    const axis = axisOf(node, data.shape.length);
    const outer = sizeOf(data.shape.slice(0, axis));
    const dim = data.shape[axis];
    const inner = sizeOf(data.shape.slice(axis + 1));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const index of indices.data) {
        const base = (o * dim + resolveIndex(node, index, dim)) * inner;
        for (let k = 0; k < inner; k++) values.push(data.data[base + k]);
      }
    }
    const shape = [
      ...data.shape.slice(0, axis),
      ...indices.shape,
      ...data.shape.slice(axis + 1),
    ];
    return [tensor(data.dtype, shape, values)];
  },
};

/** Checks GatherElements' operands agree in rank. */
function checkSameRank(node: Node, data: number, indices: number): void {
  if (data !== indices) {
    throw new OpError(
      node,
      `data has rank ${data} but indices rank ${indices}.`,
    );
  }
}

/** GatherElements: `out[i] = data[i with i[axis] := indices[i]]`. */
const gatherElements: OpDef = {
  name: "GatherElements",
  summary:
    "Reads one element of data per index, replacing the `axis` coordinate.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const data = inputType(ctx, 0);
    const indices = inputType(ctx, 1);
    checkIndexType(ctx, 1);
    checkSameRank(ctx.node, data.shape.length, indices.shape.length);
    axisOf(ctx.node, data.shape.length);
    return [{ dtype: data.dtype, shape: indices.shape }];
  },
  evaluate(inputs, node) {
    const data = inputTensor(node, inputs, 0);
    const indices = inputTensor(node, inputs, 1);
    const rank = data.shape.length;
    checkSameRank(node, rank, indices.shape.length);
    const axis = axisOf(node, rank);
    indices.shape.forEach((d, i) => {
      if (i !== axis && d > data.shape[i]) {
        throw new OpError(
          node,
          `indices dim ${i} (${d}) exceeds data's (${data.shape[i]}).`,
        );
      }
    });
    return [gatherAlong(node, data, indices, axis)];
  },
};

/** GatherElements' reads, once the operands are checked. */
function gatherAlong(
  node: Node,
  data: Tensor,
  indices: Tensor,
  axis: number,
): Tensor {
  const dataStrides = stridesOf(data.shape);
  const indexStrides = stridesOf(indices.shape);
  const values = Array.from(indices.data, (index, k) => {
    let flat = 0;
    indexStrides.forEach((s, d) => {
      const coord = d === axis
        ? resolveIndex(node, index, data.shape[axis])
        : Math.floor(k / s) % indices.shape[d];
      flat += coord * dataStrides[d];
    });
    return data.data[flat];
  });
  return tensor(data.dtype, indices.shape, values);
}

/** The indexed-read operators. */
export const gatherOps: readonly OpDef[] = [gather, gatherElements];
