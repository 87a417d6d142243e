/**
 * `infer-shapes`: gives every value its type from the operators' type rules,
 * replacing whatever the ONNX file declared for intermediate values (some
 * exporters declare stale output shapes).
 *
 * Before: `%"/Add_output_0": ? = Add(x, y) @/Add`
 * After:  `%"/Add_output_0": f32[8,128,256] = Add(x, y) @/Add`
 *
 * @module
 */

import { withParts } from "../ir/graph.ts";
import type { Pass } from "./pass.ts";
import { propagate } from "./propagate.ts";

/** The `infer-shapes` pass. */
export const inferShapes: Pass = {
  name: "infer-shapes",
  summary: "type every value from the operators' type rules",
  requires: ["static-inputs"],
  provides: ["types"],
  run(graph) {
    return withParts(graph, { types: propagate(graph).types });
  },
};
