/**
 * The f32 reference executor: runs any IR graph node by node with the
 * operators' reference semantics. It is the oracle every pass and kernel is
 * checked against, so it stays deliberately simple: no scheduling, no
 * in-place reuse, values dropped after their last use.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { getOp } from "../ops/mod.ts";

/** A value the graph needed but nobody supplied. */
export class MissingValueError extends Error {
  /** Name of the missing value. */
  readonly valueName: string;

  /** Names the missing value and what to do about it. */
  constructor(valueName: string, where: string) {
    super(
      `Value '${valueName}' is needed by ${where} but was neither fed, a constant, nor computed; feed it or check the graph.`,
    );
    this.name = "MissingValueError";
    this.valueName = valueName;
  }
}

/**
 * Runs `graph` on `feeds` (graph inputs by name) and returns the graph
 * outputs by name. Extra names in `keep` are returned too (intermediate
 * values, for tests and reports).
 */
export function execute(
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor> | Record<string, Tensor>,
  keep: readonly string[] = [],
): Map<string, Tensor> {
  const env = new Map<string, Tensor>(graph.constants);
  const fed = feeds instanceof Map ? feeds : new Map(Object.entries(feeds));
  for (const name of graph.inputs) {
    const t = fed.get(name);
    if (t === undefined) throw new MissingValueError(name, "the graph input");
    env.set(name, t);
  }
  const wanted = new Set([...graph.outputs, ...keep]);
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    for (const name of node.inputs) if (name !== "") lastUse.set(name, i);
  });
  graph.nodes.forEach((node, i) => {
    const inputs = node.inputs.map((name) => {
      if (name === "") return undefined;
      const t = env.get(name);
      if (t === undefined) {
        throw new MissingValueError(name, `node '${node.name}' (${node.op})`);
      }
      return t;
    });
    const outputs = getOp(node.op).evaluate(inputs, node);
    node.outputs.forEach((name, k) => {
      if (name !== "" && outputs[k] !== undefined) env.set(name, outputs[k]);
    });
    for (const name of node.inputs) {
      if (lastUse.get(name) === i && !wanted.has(name)) {
        if (!graph.constants.has(name)) env.delete(name);
      }
    }
  });
  const result = new Map<string, Tensor>();
  for (const name of wanted) {
    const t = env.get(name);
    if (t === undefined) throw new MissingValueError(name, "the caller");
    result.set(name, t);
  }
  return result;
}
