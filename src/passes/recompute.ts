/**
 * The `recompute` pass: the backward pass computes again, instead of
 * keeping from the forward pass, the f32 inputs of GELU's and softmax's
 * backward — the largest saved activations once the products keep int8
 * mantissas (NUMERICS.md keeps GELU and softmax in f32).
 *
 * For each target value (GeluGrad's x, SoftmaxGrad's y), the forward chain
 * that produced it is cloned into the backward, just before the value's
 * first backward reader, when every leaf of the chain is something the
 * step keeps anyway: a graph input, a constant, or a forward value the
 * backward already reads (the products' quantised operands, which their
 * dW and dX products need). So for FFN1 the clone is
 * `Add(b, MatMul(Q(x), Q(W)))` on the saved int8 operands, and for
 * attention `Softmax(Add(Div(MatMul(Q(q), Q(k)ᵀ), √d), mask))` — the same
 * operators on the same values, so the backward sees bit-identical inputs
 * and the forward's f32 copies die before the backward starts. A target
 * whose chain needs anything else (a random mask, an f32 operand not kept)
 * is left as it is.
 *
 * Clones are named `<node>@grad/recompute` (backward nodes, as autodiff's)
 * and write `<value>@recompute`.
 *
 * @module
 */

import {
  type Graph,
  makeNode,
  type Node,
  type ValueType,
  withParts,
} from "../ir/graph.ts";
import type { Pass } from "./pass.ts";

/** What can be recomputed: the backward op and which input it saves. */
export const RECOMPUTE_TARGETS = {
  gelu: { op: "GeluGrad", input: 1 },
  softmax: { op: "SoftmaxGrad", input: 1 },
} as const;

/** A recompute target name. */
export type RecomputeTarget = keyof typeof RECOMPUTE_TARGETS;

/** Deterministic operators a clone may contain. */
const CLONABLE = new Set([
  "Add",
  "Cast",
  "Concat",
  "Div",
  "Expand",
  "Gemm",
  "MatMul",
  "Mul",
  "Neg",
  "Reshape",
  "Softmax",
  "Sqrt",
  "Squeeze",
  "Sub",
  "Transpose",
  "Unsqueeze",
  "Where",
]);

/** Operators a chain may grow through before it gives up. */
const MAX_DEPTH = 8;

/** Whether `node` belongs to the backward pass or the optimizer. */
export function isBackwardNode(node: Node): boolean {
  return node.name.includes("@grad") || node.name.startsWith("optimizer/");
}

/** Parses `--recompute gelu,softmax` (or `none`); throws on an unknown name. */
export function parseRecompute(text: string): RecomputeTarget[] {
  if (text.trim() === "none") return [];
  return text.split(",").map((s) => s.trim()).map((s) => {
    if (!(s in RECOMPUTE_TARGETS)) {
      throw new RangeError(
        `Unknown recompute target '${s}'; use ${
          Object.keys(RECOMPUTE_TARGETS).join(", ")
        } (comma-separated) or none.`,
      );
    }
    return s as RecomputeTarget;
  });
}

/** `graph` (a training step) with `targets` recomputed in the backward. */
export function recompute(
  graph: Graph,
  targets: readonly RecomputeTarget[],
): Graph {
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const readByBackward = new Set(
    graph.nodes.filter(isBackwardNode).flatMap((n) => n.inputs),
  );
  const wanted = new Map<string, number>(); // target value → first reader
  for (const n of graph.nodes) {
    for (const t of targets) {
      const { op, input } = RECOMPUTE_TARGETS[t];
      const v = n.op === op && isBackwardNode(n) ? n.inputs[input] : undefined;
      const p = v === undefined ? undefined : producer.get(v);
      if (p !== undefined && !isBackwardNode(p)) wanted.set(v!, Infinity);
    }
  }
  // The clone goes ahead of the value's first backward reader, whichever op.
  graph.nodes.forEach((n, at) => {
    if (!isBackwardNode(n)) return;
    for (const i of n.inputs) {
      if (wanted.get(i) === Infinity) wanted.set(i, at);
    }
  });
  const failed = new Set<string>();
  const leaf = (v: string) =>
    v === "" || graph.inputs.includes(v) || graph.constants.has(v) ||
    (readByBackward.has(v) && (!wanted.has(v) || failed.has(v)));
  const cloned = new Map<string, string>(); // forward value → its clone
  const types = new Map<string, ValueType>(graph.types);
  const before = new Map<number, Node[]>(); // node index → clones ahead of it
  // In backward order, so a clone shared by several targets comes first.
  const order = [...wanted].sort((a, b) => a[1] - b[1]);
  for (const [value, at] of order) {
    const chain: Node[] = [];
    const seen = new Set<Node>();
    const plan = (v: string, depth: number): boolean => {
      if (leaf(v) || cloned.has(v)) return true;
      const n = producer.get(v);
      if (n === undefined || isBackwardNode(n)) return false;
      if (depth > MAX_DEPTH || !CLONABLE.has(n.op)) return false;
      if (seen.has(n)) return true;
      if (!n.inputs.every((i) => plan(i, depth + 1))) return false;
      seen.add(n);
      chain.push(n);
      return true;
    };
    if (!plan(value, 0)) {
      failed.add(value);
      continue;
    }
    const clones = chain.map((n) => {
      for (const o of n.outputs) {
        cloned.set(o, `${o}@recompute`);
        const type = graph.types.get(o);
        if (type !== undefined) types.set(`${o}@recompute`, type);
      }
      return makeNode(
        n.op,
        `${n.name}@grad/recompute`,
        n.inputs.map((i) => cloned.get(i) ?? i),
        n.outputs.map((o) => `${o}@recompute`),
        n.attrs,
      );
    });
    before.set(at, [...(before.get(at) ?? []), ...clones]);
  }
  const nodes = graph.nodes.flatMap((n, at) => {
    const rewired = isBackwardNode(n) && n.inputs.some((i) => wanted.has(i))
      ? makeNode(
        n.op,
        n.name,
        n.inputs.map((i) => wanted.has(i) ? cloned.get(i) ?? i : i),
        n.outputs,
        n.attrs,
      )
      : n;
    return [...(before.get(at) ?? []), rewired];
  });
  return withParts(graph, { nodes, types });
}

/** The pass form of {@linkcode recompute}. */
export function recomputePass(targets: readonly RecomputeTarget[]): Pass {
  return {
    name: "recompute",
    summary:
      "the backward recomputes GELU and softmax inputs from the values it keeps anyway",
    requires: [],
    provides: [],
    run: (graph) => recompute(graph, targets),
  };
}
