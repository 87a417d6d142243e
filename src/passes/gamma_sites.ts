/**
 * Where a LayerNorm's γ can go (Outlier Suppression's Gamma Migration): the
 * linears that read the LayerNorm output as `x·W` and the post-LN residual
 * Adds that read it as a shortcut. A LayerNorm with any other reader, or
 * without a shortcut (the last output LN, which feeds the pooler or a task
 * head), is not a migration site; the reason says why.
 *
 * @module
 */

import { intAttr, type Node } from "../ir/graph.ts";
import { isFloat } from "../ir/dtype.ts";
import type { GraphIndex } from "./graph_index.ts";

/** A weighted product reading the LayerNorm output (directly or through a row-flattening Reshape). */
export interface MigratedLinear {
  /** The MatMul or Gemm. */
  readonly node: Node;
  /** Its constant weight. */
  readonly weight: string;
  /**
   * Which weight axis indexes the LayerNorm's channels: 0 for `x·W` (rows
   * are scaled), 1 for Gemm with transB (W stored [out, in]; columns are).
   */
  readonly channelAxis: 0 | 1;
}

/** A LayerNorm whose γ can migrate. */
export interface GammaSite {
  /** The LayerNorm node. */
  readonly layerNorm: Node;
  /** Channels (width of the normalised last axis). */
  readonly width: number;
  /** The linears that absorb γ. */
  readonly linears: readonly MigratedLinear[];
  /** The residual Adds whose shortcut operand becomes γ ⊙ x'. */
  readonly residuals: readonly Node[];
}

/** A site, or why the LayerNorm is not one. */
export type SiteResult = GammaSite | { readonly reason: string };

/** The linear `node` reading `x` as its left operand, when its weight is a constant [width, ·] (or [·, width] with transB). */
function linearOf(
  index: GraphIndex,
  node: Node,
  x: string,
  width: number,
): MigratedLinear | undefined {
  const weight = node.inputs[1];
  const w = index.constant(weight);
  if (
    node.inputs[0] !== x || weight === x || w === undefined ||
    !isFloat(w.dtype) || w.shape.length !== 2
  ) return undefined;
  if (node.op === "MatMul") {
    return w.shape[0] === width ? { node, weight, channelAxis: 0 } : undefined;
  }
  if (node.op !== "Gemm" || intAttr(node.attrs, "transA", 0) !== 0) {
    return undefined;
  }
  const channelAxis = intAttr(node.attrs, "transB", 0) === 0 ? 0 : 1;
  return w.shape[channelAxis] === width
    ? { node, weight, channelAxis }
    : undefined;
}

/** The last dim of `value`'s static type, or `undefined`. */
function lastDim(index: GraphIndex, value: string): number | undefined {
  const shape = index.graph.types.get(value)?.shape;
  const d = shape?.[shape.length - 1];
  return typeof d === "number" ? d : undefined;
}

/**
 * The linears behind a Reshape of the LayerNorm output: keras2onnx
 * flattens [batch, seq, H] to [batch·seq, H] before each MatMul. Keeping the
 * last dim keeps each element in its channel, so diag(γ) still commutes.
 */
function linearsBehindReshape(
  index: GraphIndex,
  reshape: Node,
  width: number,
): MigratedLinear[] | undefined {
  const out = reshape.outputs[0];
  if (lastDim(index, out) !== width || index.graph.outputs.includes(out)) {
    return undefined;
  }
  const readers = index.consumersOf(out);
  const linears = readers.map((n) => linearOf(index, n, out, width));
  return readers.length > 0 && linears.every((l) => l !== undefined)
    ? linears as MigratedLinear[]
    : undefined;
}

/** Whether `add` is a shortcut Add of `y`: the other operand is computed and nothing broadcasts. */
function isResidual(index: GraphIndex, add: Node, y: string): boolean {
  if (add.op !== "Add" || add.inputs.length !== 2) return false;
  const other = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
  if (other === y || index.constant(other) !== undefined) return false;
  const shape = (v: string) => JSON.stringify(index.graph.types.get(v)?.shape);
  return shape(add.outputs[0]) === shape(y) && shape(other) === shape(y);
}

/** Checks that `ln` normalises the last axis with constant 1-D γ (and β). */
function checkLayerNorm(index: GraphIndex, ln: Node): number | string {
  const [x, gamma, beta] = ln.inputs;
  const rank = index.graph.types.get(x)?.shape.length;
  const width = lastDim(index, x);
  const axis = intAttr(ln.attrs, "axis", -1);
  if (rank === undefined || width === undefined) return "input shape unknown";
  if (axis !== -1 && axis !== rank - 1) return "not over the last axis";
  for (const operand of [gamma, beta]) {
    if (operand === undefined || operand === "") continue;
    const t = index.constant(operand);
    if (t === undefined || t.shape.length !== 1 || t.shape[0] !== width) {
      return `${operand} is not a constant vector of ${width}`;
    }
  }
  if (ln.outputs.slice(1).some((o) => o !== "")) {
    return "mean/inverse-std outputs are used";
  }
  return width;
}

/** Finds where the γ of LayerNorm `ln` can migrate, or why it cannot. */
export function gammaSite(index: GraphIndex, ln: Node): SiteResult {
  const width = checkLayerNorm(index, ln);
  if (typeof width === "string") return { reason: width };
  const y = ln.outputs[0];
  if (index.graph.outputs.includes(y)) {
    return { reason: "it is a graph output" };
  }
  const linears: MigratedLinear[] = [];
  const residuals: Node[] = [];
  const others: Node[] = [];
  for (const reader of index.consumersOf(y)) {
    const direct = linearOf(index, reader, y, width);
    const reshaped = reader.op === "Reshape" && reader.inputs[0] === y
      ? linearsBehindReshape(index, reader, width)
      : undefined;
    if (direct !== undefined) linears.push(direct);
    else if (reshaped !== undefined) linears.push(...reshaped);
    else if (isResidual(index, reader, y)) residuals.push(reader);
    else others.push(reader);
  }
  // The missing shortcut first: it is why OS leaves the last LN alone.
  if (residuals.length === 0) {
    return {
      reason:
        "no residual Add reads it (not the input of a post-LN block; the last LN feeds the head)",
    };
  }
  if (others.length > 0) {
    return {
      reason: `${others[0].op} '${
        others[0].name
      }' reads it and is neither a linear x·W nor a residual Add`,
    };
  }
  if (linears.length === 0) return { reason: "no linear reads it" };
  return { layerNorm: ln, width, linears, residuals };
}
