/**
 * `fuse-layer-norm`: recognises the decomposed LayerNorm that torch.onnx
 * emits below opset 17 and replaces it by one `LayerNorm` node, so later
 * passes and kernels see one op.
 *
 * Before (9 nodes):
 * ```text
 * u = ReduceMean(x, [-1]); d = Sub(x, u); p = Pow(d, 2.0)   (or Mul(d, d))
 * v = ReduceMean(p, [-1]); e = Add(v, eps); s = Sqrt(e); n = Div(d, s)
 * m = Mul(n, gamma); y = Add(m, beta)
 * ```
 * After: `y = LayerNorm(x, gamma, beta) {axis=-1, epsilon=eps}`
 *
 * Only a normalisation over the last axis with constant 1-D scale and bias
 * fuses; anything else is left as it is.
 *
 * @module
 */

import { attr, type Graph, makeNode, type Node } from "../ir/graph.ts";
import {
  commonScope,
  type GraphIndex,
  otherOperand,
  type Rewrite,
  rewriteMatches,
} from "./graph_index.ts";
import type { Pass } from "./pass.ts";

function reducesLastAxis(index: GraphIndex, node: Node, rank: number): boolean {
  const axes = index.constant(node.inputs[1] ?? "");
  if (axes === undefined || axes.data.length !== 1) return false;
  const axis = axes.data[0];
  return axis === -1 || axis === rank - 1;
}

function isSquareOf(
  index: GraphIndex,
  node: Node | undefined,
  d: string,
): boolean {
  if (node === undefined) return false;
  if (node.op === "Pow") {
    return node.inputs[0] === d && index.isScalarConstant(node.inputs[1], 2);
  }
  return node.op === "Mul" && node.inputs[0] === d && node.inputs[1] === d;
}

function isVector(
  index: GraphIndex,
  value: string | undefined,
  width: number,
): boolean {
  const t = value === undefined ? undefined : index.constant(value);
  return t !== undefined && t.shape.length === 1 && t.shape[0] === width;
}

/** Matches the decomposition ending at the ReduceMean `u`, if it is one. */
function matchAt(index: GraphIndex, u: Node): Rewrite | undefined {
  const x = u.inputs[0];
  const type = index.graph.types.get(x);
  if (type === undefined) return undefined;
  const rank = type.shape.length;
  const width = type.shape[rank - 1];
  if (typeof width !== "number" || !reducesLastAxis(index, u, rank)) {
    return undefined;
  }
  const sub = index.soleConsumer(u.outputs[0], "Sub");
  if (
    sub === undefined || sub.inputs[0] !== x || sub.inputs[1] !== u.outputs[0]
  ) return undefined;
  const d = sub.outputs[0];
  const dUsers = index.consumersOf(d);
  if (dUsers.length !== 2 || index.graph.outputs.includes(d)) return undefined;
  const square = dUsers.find((n) => n.op !== "Div");
  const div = dUsers.find((n) => n.op === "Div" && n.inputs[0] === d);
  if (!isSquareOf(index, square, d) || div === undefined) return undefined;
  const v = index.soleConsumer(square!.outputs[0], "ReduceMean");
  if (v === undefined || !reducesLastAxis(index, v, rank)) return undefined;
  const addEps = index.soleConsumer(v.outputs[0], "Add");
  const epsName = addEps === undefined
    ? undefined
    : otherOperand(addEps, v.outputs[0]);
  const eps = epsName === undefined ? undefined : index.constant(epsName);
  if (addEps === undefined || eps === undefined || eps.data.length !== 1) {
    return undefined;
  }
  const sqrt = index.soleConsumer(addEps.outputs[0], "Sqrt");
  if (sqrt === undefined || div.inputs[1] !== sqrt.outputs[0]) return undefined;
  const mul = index.soleConsumer(div.outputs[0], "Mul");
  const gamma = mul === undefined
    ? undefined
    : otherOperand(mul, div.outputs[0]);
  if (mul === undefined || !isVector(index, gamma, width)) return undefined;
  const add = index.soleConsumer(mul.outputs[0], "Add");
  const beta = add === undefined
    ? undefined
    : otherOperand(add, mul.outputs[0]);
  if (add === undefined || !isVector(index, beta, width)) return undefined;
  const removed = [u, sub, square!, v, addEps, sqrt, div, mul, add];
  const replacement = makeNode(
    "LayerNorm",
    commonScope(removed, add.name),
    [x, gamma!, beta!],
    [add.outputs[0]],
    { axis: attr.int(-1), epsilon: attr.float(eps.data[0]) },
  );
  return { anchor: add, removed, replacement };
}

/** Every decomposed LayerNorm of `graph`, fused. */
export function fuseLayerNorms(graph: Graph): Graph {
  return rewriteMatches(graph, "ReduceMean", matchAt);
}

/** The `fuse-layer-norm` pass. */
export const fuseLayerNorm: Pass = {
  name: "fuse-layer-norm",
  summary: "replace decomposed LayerNorm subgraphs by one LayerNorm node",
  requires: ["types"],
  provides: ["layer-norm-fused"],
  run: fuseLayerNorms,
};
