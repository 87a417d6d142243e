/**
 * `fuse-gelu`: recognises the erf form of GELU and replaces it by one
 * `Gelu` node.
 *
 * Before (5 nodes, operand order and the place of the 0.5 vary by exporter):
 * ```text
 * a = Div(x, 1.4142135)   (or Mul(x, 0.70710677))
 * b = Erf(a); c = Add(b, 1.0); d = Mul(x, c); y = Mul(d, 0.5)
 * ```
 * After: `y = Gelu(x)`
 *
 * @module
 */

import { type Graph, makeNode, type Node } from "../ir/graph.ts";
import {
  commonScope,
  type GraphIndex,
  otherOperand,
  type Rewrite,
  rewriteMatches,
} from "./graph_index.ts";
import type { Pass } from "./pass.ts";

/** The x of `a = x / √2` or `a = x · (1/√2)`. */
function scaledInput(
  index: GraphIndex,
  a: Node | undefined,
): string | undefined {
  if (a === undefined || a.inputs.length !== 2) return undefined;
  if (a.op === "Div" && index.isScalarConstant(a.inputs[1], Math.SQRT2)) {
    return a.inputs[0];
  }
  if (a.op !== "Mul") return undefined;
  if (index.isScalarConstant(a.inputs[1], Math.SQRT1_2)) return a.inputs[0];
  if (index.isScalarConstant(a.inputs[0], Math.SQRT1_2)) return a.inputs[1];
  return undefined;
}

/**
 * Matches the product x · c · 0.5 above `c`: returns the final node and the
 * product nodes, or `undefined`.
 */
function matchProduct(
  index: GraphIndex,
  x: string,
  c: string,
): Node[] | undefined {
  const m1 = index.soleConsumer(c, "Mul");
  const o1 = m1 === undefined ? undefined : otherOperand(m1, c);
  if (m1 === undefined || o1 === undefined) return undefined;
  if (o1 === x || index.isScalarConstant(o1, 0.5)) {
    const m2 = index.soleConsumer(m1.outputs[0], "Mul");
    const o2 = m2 === undefined ? undefined : otherOperand(m2, m1.outputs[0]);
    const complete = o1 === x
      ? index.isScalarConstant(o2 ?? "", 0.5)
      : o2 === x;
    return complete ? [m1, m2!] : undefined;
  }
  const half = index.producer(o1, "Mul");
  if (half === undefined || index.soleConsumer(o1) !== m1) return undefined;
  const halfOperand = otherOperand(half, x);
  return halfOperand !== undefined && index.isScalarConstant(halfOperand, 0.5)
    ? [half, m1]
    : undefined;
}

function matchAt(index: GraphIndex, erf: Node): Rewrite | undefined {
  const a = index.producer(erf.inputs[0]);
  const x = scaledInput(index, a);
  if (x === undefined || index.soleConsumer(a!.outputs[0]) !== erf) {
    return undefined;
  }
  const add = index.soleConsumer(erf.outputs[0], "Add");
  const one = add === undefined ? undefined : otherOperand(add, erf.outputs[0]);
  if (
    add === undefined || one === undefined || !index.isScalarConstant(one, 1)
  ) return undefined;
  const product = matchProduct(index, x, add.outputs[0]);
  if (product === undefined) return undefined;
  const last = product.reduce((
    p,
    n,
  ) => (index.graph.nodes.indexOf(n) > index.graph.nodes.indexOf(p) ? n : p));
  const removed = [a!, erf, add, ...product];
  const replacement = makeNode("Gelu", commonScope(removed, last.name), [x], [
    last.outputs[0],
  ]);
  return { anchor: last, removed, replacement };
}

/** Every erf-GELU of `graph`, fused. */
export function fuseGelus(graph: Graph): Graph {
  return rewriteMatches(graph, "Erf", matchAt);
}

/** The `fuse-gelu` pass. */
export const fuseGelu: Pass = {
  name: "fuse-gelu",
  summary: "replace erf-GELU subgraphs by one Gelu node",
  requires: ["types"],
  provides: ["gelu-fused"],
  run: fuseGelus,
};
