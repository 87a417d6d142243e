/**
 * `fuse-layer-norm`: recognises the decomposed LayerNorms that exporters
 * emit below opset 17 and replaces each by one `LayerNorm` node, so later
 * passes and kernels see one op.
 *
 * torch.onnx form (9 nodes):
 * ```text
 * u = ReduceMean(x, [-1]); d = Sub(x, u); p = Pow(d, 2.0)   (or Mul(d, d))
 * v = ReduceMean(p, [-1]); e = Add(v, eps); s = Sqrt(e); n = Div(d, s)
 * m = Mul(n, gamma); y = Add(m, beta)
 * ```
 * TensorFlow/keras2onnx "batchnorm" form (12 nodes):
 * ```text
 * u = ReduceMean(x, [-1]); d = Sub(u, x); p = Mul(d, d); v = ReduceMean(p, [-1])
 * e = Add(eps, v); s = Sqrt(e); r = Reciprocal(s); g = Mul(r, gamma)
 * b = Sub(beta, Mul(g, u)); y = Add(Mul(g, x), b)
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

/** The width of the last axis of `x` when `node` reduces `x` over exactly that axis. */
function lastAxisWidth(
  index: GraphIndex,
  node: Node,
  x: string,
): number | undefined {
  const type = index.graph.types.get(x);
  const axes = index.constant(node.inputs[1] ?? "");
  if (type === undefined || axes === undefined || axes.data.length !== 1) {
    return undefined;
  }
  const rank = type.shape.length;
  const width = type.shape[rank - 1];
  const axis = axes.data[0];
  return typeof width === "number" && (axis === -1 || axis === rank - 1)
    ? width
    : undefined;
}

function isSquareOf(
  index: GraphIndex,
  node: Node | undefined,
  d: string,
): node is Node {
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
): value is string {
  const t = value === undefined ? undefined : index.constant(value);
  return t !== undefined && t.shape.length === 1 && t.shape[0] === width;
}

/** The mean of the squares `p` over the last axis, plus ε, square-rooted. */
function rootOfVariance(index: GraphIndex, p: Node, x: string) {
  const v = index.soleConsumer(p.outputs[0], "ReduceMean");
  if (v === undefined || lastAxisWidth(index, v, p.outputs[0]) === undefined) {
    return undefined;
  }
  const addEps = index.soleConsumer(v.outputs[0], "Add");
  const epsName = addEps === undefined
    ? undefined
    : otherOperand(addEps, v.outputs[0]);
  const eps = epsName === undefined ? undefined : index.constant(epsName);
  const sqrt = addEps === undefined
    ? undefined
    : index.soleConsumer(addEps.outputs[0], "Sqrt");
  if (
    eps === undefined || eps.data.length !== 1 || sqrt === undefined || x === ""
  ) return undefined;
  return { nodes: [v, addEps!, sqrt], sqrt, epsilon: eps.data[0] };
}

function layerNorm(
  removed: Node[],
  anchor: Node,
  operands: string[],
  epsilon: number,
): Rewrite {
  const replacement = makeNode(
    "LayerNorm",
    commonScope(removed, anchor.name),
    operands,
    [anchor.outputs[0]],
    {
      axis: attr.int(-1),
      epsilon: attr.float(epsilon),
    },
  );
  return { anchor, removed, replacement };
}

/**
 * The torch.onnx form, from its first ReduceMean `u`. Early exporters
 * compute x − u twice, once for the variance and once for the quotient.
 */
function matchTorch(index: GraphIndex, u: Node): Rewrite | undefined {
  const x = u.inputs[0];
  const width = lastAxisWidth(index, u, x);
  const subs = index.consumersOf(u.outputs[0]);
  const centred = subs.map((n) => n.outputs[0]);
  if (
    width === undefined || subs.length < 1 || subs.length > 2 ||
    !subs.every((n) =>
      n.op === "Sub" && n.inputs[0] === x && n.inputs[1] === u.outputs[0]
    ) ||
    centred.some((d) => index.graph.outputs.includes(d))
  ) return undefined;
  const users = centred.flatMap((d) => index.consumersOf(d));
  const square = users.find((n) => n.op !== "Div");
  const div = users.find((n) =>
    n.op === "Div" && centred.includes(n.inputs[0])
  );
  if (
    users.length !== 2 || !isSquareOf(index, square, square?.inputs[0] ?? "") ||
    div === undefined
  ) return undefined;
  const root = rootOfVariance(index, square, x);
  if (root === undefined || div.inputs[1] !== root.sqrt.outputs[0]) {
    return undefined;
  }
  const mul = index.soleConsumer(div.outputs[0], "Mul");
  const gamma = mul === undefined
    ? undefined
    : otherOperand(mul, div.outputs[0]);
  const add = mul === undefined
    ? undefined
    : index.soleConsumer(mul.outputs[0], "Add");
  const beta = add === undefined
    ? undefined
    : otherOperand(add, mul!.outputs[0]);
  if (!isVector(index, gamma, width) || !isVector(index, beta, width)) {
    return undefined;
  }
  return layerNorm(
    [u, ...subs, square!, ...root.nodes, div, mul!, add!],
    add!,
    [
      x,
      gamma,
      beta,
    ],
    root.epsilon,
  );
}

/** The TensorFlow "batchnorm" form, from its first ReduceMean `u`. */
function matchTensorFlow(index: GraphIndex, u: Node): Rewrite | undefined {
  const x = u.inputs[0];
  const mean = u.outputs[0];
  const width = lastAxisWidth(index, u, x);
  const uUsers = index.consumersOf(mean);
  const sub = uUsers.find((n) => n.op === "Sub" && otherOperand(n, mean) === x);
  if (width === undefined || uUsers.length !== 2 || sub === undefined) {
    return undefined;
  }
  const square = index.soleConsumer(sub.outputs[0], "Mul");
  if (!isSquareOf(index, square, sub.outputs[0])) return undefined;
  const root = rootOfVariance(index, square, x);
  const reciprocal = root === undefined
    ? undefined
    : index.soleConsumer(root.sqrt.outputs[0], "Reciprocal");
  const scale = reciprocal === undefined
    ? undefined
    : index.soleConsumer(reciprocal.outputs[0], "Mul");
  const gamma = scale === undefined
    ? undefined
    : otherOperand(scale, reciprocal!.outputs[0]);
  if (!isVector(index, gamma, width)) return undefined;
  const scaled = index.consumersOf(scale!.outputs[0]);
  const scaledMean = scaled.find((n) =>
    n.op === "Mul" && otherOperand(n, scale!.outputs[0]) === mean
  );
  const scaledX = scaled.find((n) =>
    n.op === "Mul" && otherOperand(n, scale!.outputs[0]) === x
  );
  if (
    scaled.length !== 2 || scaledMean === undefined || scaledX === undefined
  ) return undefined;
  const shift = index.soleConsumer(scaledMean.outputs[0], "Sub");
  const beta = shift?.inputs[0];
  const add = index.soleConsumer(scaledX.outputs[0], "Add");
  if (
    shift?.inputs[1] !== scaledMean.outputs[0] || !isVector(index, beta, width)
  ) return undefined;
  if (
    add === undefined ||
    otherOperand(add, scaledX.outputs[0]) !== shift.outputs[0]
  ) return undefined;
  if (index.soleConsumer(shift.outputs[0]) !== add) return undefined;
  const removed = [
    u,
    sub,
    square,
    ...root!.nodes,
    reciprocal!,
    scale!,
    scaledMean,
    shift,
    scaledX,
    add,
  ];
  return layerNorm(removed, add, [x, gamma, beta], root!.epsilon);
}

/** Every decomposed LayerNorm of `graph`, fused. */
export function fuseLayerNorms(graph: Graph): Graph {
  return rewriteMatches(
    graph,
    "ReduceMean",
    (index, u) => matchTorch(index, u) ?? matchTensorFlow(index, u),
  );
}

/** The `fuse-layer-norm` pass. */
export const fuseLayerNorm: Pass = {
  name: "fuse-layer-norm",
  summary: "replace decomposed LayerNorm subgraphs by one LayerNorm node",
  requires: ["types"],
  provides: ["layer-norm-fused"],
  run: fuseLayerNorms,
};
