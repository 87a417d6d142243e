/**
 * `eliminate-dead-code`: drops nodes none of whose outputs reach a graph
 * output, and constants nothing reads.
 *
 * @module
 */

import type { Node, ValueType } from "../ir/graph.ts";
import { withParts } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import type { Pass } from "./pass.ts";

/** The `eliminate-dead-code` pass. */
export const eliminateDeadCode: Pass = {
  name: "eliminate-dead-code",
  summary: "drop nodes and constants that no graph output needs",
  requires: [],
  provides: [],
  run(graph) {
    const live = new Set<string>(graph.outputs);
    const kept: Node[] = [];
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      const node = graph.nodes[i];
      if (!node.outputs.some((o) => live.has(o))) continue;
      kept.push(node);
      for (const name of node.inputs) if (name !== "") live.add(name);
    }
    kept.reverse();
    const constants = new Map<string, Tensor>();
    for (const [name, t] of graph.constants) {
      if (live.has(name)) constants.set(name, t);
    }
    const defined = new Set([
      ...graph.inputs,
      ...kept.flatMap((n) => n.outputs),
    ]);
    const types = new Map<string, ValueType>();
    for (const [name, type] of graph.types) {
      if (defined.has(name)) types.set(name, type);
    }
    return withParts(graph, { nodes: kept, constants, types });
  },
};
