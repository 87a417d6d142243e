/**
 * Weight replacement: the training runtime swaps fine-tuned tensors into
 * the forward graph's constants before export.
 *
 * @module
 */

import { type Graph, withParts } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { ConstantUpdateError } from "./errors.ts";

/**
 * A graph whose constants named in `updates` hold the new tensors; the
 * rest of the graph is shared. Every update must name an existing constant
 * and match its dtype and shape, since the graph's types were inferred from
 * them.
 *
 * @example
 * ```ts
 * const tuned = replaceConstants(graph, new Map([["classifier.weight", w]]));
 * Deno.writeFileSync("tuned.onnx", exportOnnx(tuned));
 * ```
 * @throws {ConstantUpdateError} for the first update that does not fit.
 */
export function replaceConstants(
  graph: Graph,
  updates: ReadonlyMap<string, Tensor>,
): Graph {
  for (const [name, t] of updates) {
    const old = graph.constants.get(name);
    if (old === undefined) {
      throw new ConstantUpdateError(
        name,
        "unknown-name",
        `the graph '${graph.name}' has no such constant; check the name against the IR dump`,
      );
    }
    if (t.dtype !== old.dtype) {
      throw new ConstantUpdateError(
        name,
        "dtype",
        `it is ${old.dtype} and the update is ${t.dtype}`,
      );
    }
    const same = t.shape.length === old.shape.length &&
      t.shape.every((d, i) => d === old.shape[i]);
    if (!same || t.data.length !== old.data.length) {
      throw new ConstantUpdateError(
        name,
        "shape",
        `it has shape [${old.shape}] and the update has shape [${t.shape}] with ${t.data.length} elements`,
      );
    }
  }
  const constants = new Map(graph.constants);
  for (const [name, t] of updates) constants.set(name, t);
  return withParts(graph, { constants });
}
