/**
 * Look-ups that rewrite rules need: who produces a value, who reads it, and
 * what a constant operand holds.
 *
 * @module
 */

import type { Graph, Node } from "../ir/graph.ts";
import { makeGraph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

/** Producers and consumers of every value of a graph. */
export class GraphIndex {
  private readonly producers = new Map<string, Node>();
  private readonly consumers = new Map<string, Node[]>();

  /** Indexes `graph`. */
  constructor(readonly graph: Graph) {
    for (const node of graph.nodes) {
      for (const o of node.outputs) if (o !== "") this.producers.set(o, node);
      for (const i of new Set(node.inputs)) {
        if (i === "") continue;
        const list = this.consumers.get(i) ?? [];
        list.push(node);
        this.consumers.set(i, list);
      }
    }
  }

  /** The node defining `value`, when a node does and has operator `op`. */
  producer(value: string, op?: string): Node | undefined {
    const node = this.producers.get(value);
    return node !== undefined && (op === undefined || node.op === op)
      ? node
      : undefined;
  }

  /** The nodes reading `value`. */
  consumersOf(value: string): readonly Node[] {
    return this.consumers.get(value) ?? [];
  }

  /** The single node reading `value`, when exactly one does and it is not a graph output. */
  soleConsumer(value: string, op?: string): Node | undefined {
    const list = this.consumersOf(value);
    if (list.length !== 1 || this.graph.outputs.includes(value)) {
      return undefined;
    }
    return op === undefined || list[0].op === op ? list[0] : undefined;
  }

  /** The constant named `value`, if it is one. */
  constant(value: string): Tensor | undefined {
    return this.graph.constants.get(value);
  }

  /** Whether `value` is a constant holding only `x` (within `tolerance`). */
  isScalarConstant(value: string, x: number, tolerance = 1e-6): boolean {
    const t = this.constant(value);
    if (t === undefined || t.data.length !== 1) return false;
    return Math.abs(t.data[0] - x) <= tolerance * Math.max(1, Math.abs(x));
  }
}

/** The operand of a binary node that is not `value`, or `undefined`. */
export function otherOperand(node: Node, value: string): string | undefined {
  if (node.inputs.length !== 2) return undefined;
  if (node.inputs[0] === value) return node.inputs[1];
  if (node.inputs[1] === value) return node.inputs[0];
  return undefined;
}

/** A subgraph rewrite: `removed` nodes go, `replacement` stands where `anchor` stood. */
export interface Rewrite {
  /** The node whose position the replacement takes (also removed). */
  readonly anchor: Node;
  /** Every node the rewrite replaces, anchor included. */
  readonly removed: readonly Node[];
  /** The new node. */
  readonly replacement: Node;
}

/**
 * Tries `match` at every node of operator `op` and applies the rewrites
 * found — the shape of every pattern-fusion pass.
 */
export function rewriteMatches(
  graph: Graph,
  op: string,
  match: (index: GraphIndex, node: Node) => Rewrite | undefined,
): Graph {
  const index = new GraphIndex(graph);
  const rewrites: Rewrite[] = [];
  for (const node of graph.nodes) {
    if (node.op !== op) continue;
    const rewrite = match(index, node);
    if (rewrite !== undefined) rewrites.push(rewrite);
  }
  return applyRewrites(graph, rewrites);
}

/** Applies non-overlapping rewrites in one sweep over the nodes. */
export function applyRewrites(
  graph: Graph,
  rewrites: readonly Rewrite[],
): Graph {
  if (rewrites.length === 0) return graph;
  const removed = new Set(rewrites.flatMap((r) => r.removed));
  const byAnchor = new Map(rewrites.map((r) => [r.anchor, r.replacement]));
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    const replacement = byAnchor.get(node);
    if (replacement !== undefined) nodes.push(replacement);
    else if (!removed.has(node)) nodes.push(node);
  }
  const defined = new Set(nodes.flatMap((n) => n.outputs));
  const gone = new Set(
    [...removed].flatMap((n) => n.outputs).filter((o) => !defined.has(o)),
  );
  const types = new Map([...graph.types].filter(([name]) => !gone.has(name)));
  return makeGraph({ ...graph, nodes, types });
}

/** The longest common `/`-separated prefix of node names, e.g. `/bert/encoder/layer.0/output/LayerNorm`. */
export function commonScope(nodes: readonly Node[], fallback: string): string {
  const parts = nodes.map((n) => n.name.split("/"));
  const first = parts[0];
  let k = 0;
  while (
    k < first.length - 1 &&
    parts.every((p) => p.length - 1 > k && p[k] === first[k])
  ) k++;
  const scope = first.slice(0, k).join("/");
  return scope === "" ? fallback : scope;
}
