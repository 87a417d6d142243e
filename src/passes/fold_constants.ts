/**
 * `fold-constants`: replaces every node whose outputs are known at compile
 * time by constants — arithmetic on constants, and the shape computations
 * (Shape→Gather→Unsqueeze→Concat→Reshape) that become constant once shapes
 * are static.
 *
 * Before: `%s: i64[2] = Shape(x) @/Shape` … `%y = Reshape(x, %s2) @/Reshape`
 * After:  `const s2: i64[3] = [8, 128, 256]` … `%y = Reshape(x, s2) @/Reshape`
 *
 * Values computed from a constant named in `preserve` (a parameter to be
 * trained) are not folded: the training graph must still compute them from
 * the parameter, e.g. the position-embedding look-up.
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
  run(graph, options) {
    const { types, values } = propagate(graph);
    const constants = new Map<string, Tensor>(graph.constants);
    const preserved = new Set(options.preserve ?? []);
    const nodes: Node[] = [];
    for (const node of graph.nodes) {
      const live = node.outputs.filter((o) => o !== "");
      if (node.inputs.some((i) => preserved.has(i))) {
        for (const o of live) preserved.add(o);
        nodes.push(node);
      } else if (live.length > 0 && live.every((o) => values.has(o))) {
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
