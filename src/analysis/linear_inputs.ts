/**
 * The activation inputs of a graph's linear layers — the tensors whose
 * outliers the integer recipes must survive — labelled by layer and role.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";

/** One activation tensor that feeds one or more weighted MatMuls. */
export interface LinearInput {
  /** The activation value's name. */
  readonly value: string;
  /** Encoder layer index parsed from the node names, or -1. */
  readonly layer: number;
  /** Role: `qkv`, `attention-output`, `ffn1`, `ffn2`, `pooler`, `classifier`, or the node name. */
  readonly role: string;
  /** The MatMul/Gemm nodes it feeds. */
  readonly nodes: readonly string[];
}

const ROLES: readonly [RegExp, string][] = [
  [/attention\/self\/(query|key|value)/, "qkv"],
  [/attention\/output\/dense/, "attention-output"],
  [/intermediate\/dense/, "ffn1"],
  [/output\/dense/, "ffn2"],
  [/pooler/, "pooler"],
  [/classifier/, "classifier"],
];

function roleOf(name: string): string {
  return ROLES.find(([pattern]) => pattern.test(name))?.[1] ?? name;
}

function layerOf(name: string): number {
  const m = /layer[._]*(\d+)/.exec(name);
  return m === null ? -1 : Number(m[1]);
}

/**
 * Every activation that feeds a MatMul or Gemm with a constant weight, in
 * graph order; inputs shared by several linears (Q, K and V) appear once.
 */
export function findLinearInputs(graph: Graph): LinearInput[] {
  const byValue = new Map<string, string[]>();
  for (const node of graph.nodes) {
    if (node.op !== "MatMul" && node.op !== "Gemm") continue;
    const [a, b] = node.inputs;
    const activation = graph.constants.has(b)
      ? a
      : graph.constants.has(a)
      ? b
      : undefined;
    if (activation === undefined || graph.constants.has(activation)) continue;
    byValue.set(activation, [...(byValue.get(activation) ?? []), node.name]);
  }
  return [...byValue].map(([value, nodes]) => ({
    value,
    layer: layerOf(nodes[0]),
    role: roleOf(nodes[0]),
    nodes,
  }));
}
