/**
 * `fold-constants`: replaces every node whose outputs are known at compile
 * time by constants — arithmetic on constants, and the shape computations
 * (Shape→Gather→Unsqueeze→Concat→Reshape) that become constant once shapes
 * are static.
 *
 * Before: `%s: i64[2] = Shape(x) @/Shape` … `%y = Reshape(x, %s2) @/Reshape`
 * After:  `const s2: i64[3] = [8, 128, 256]` … `%y = Reshape(x, s2) @/Reshape`
 *
 * @module
 */

import type { Node } from "../ir/graph.ts";
import { withParts } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import type { Pass } from "./pass.ts";
import { propagate } from "./propagate.ts";

/** The `fold-constants` pass. */
export const foldConstants: Pass = {
  name: "fold-constants",
  summary: "evaluate nodes whose outputs are known at compile time",
  requires: ["types"],
  provides: ["folded"],
  run(graph) {
    const { types, values } = propagate(graph);
    const constants = new Map<string, Tensor>(graph.constants);
    const nodes: Node[] = [];
    for (const node of graph.nodes) {
      const live = node.outputs.filter((o) => o !== "");
      if (live.length > 0 && live.every((o) => values.has(o))) {
        for (const o of live) {
          constants.set(o, values.get(o)!);
          types.delete(o);
        }
      } else {
        nodes.push(node);
      }
    }
    return withParts(graph, { nodes, constants, types });
  },
};
