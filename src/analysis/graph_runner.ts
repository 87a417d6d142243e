/**
 * How the analyses run a forward graph and read intermediate values: on
 * the double-precision reference executor (the oracle) or on the WASM
 * engine, which keeps the asked-for values alive as extra outputs.
 *
 * @module
 */

import { Engine } from "../../runtime/engine/mod.ts";
import { execute } from "../executor/execute.ts";
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

/** Runs a graph on feeds and returns its outputs plus the `keep` values. */
export type Runner = (
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor>,
  keep: readonly string[],
) => Promise<Map<string, Tensor>>;

/** The reference executor as a {@linkcode Runner}. */
export const referenceRunner: Runner = (graph, feeds, keep) =>
  Promise.resolve(execute(graph, feeds, keep));

/** The WASM engine as a {@linkcode Runner} (one engine per graph). */
export function engineRunner(): Runner {
  const engines = new WeakMap<Graph, Engine>();
  return async (graph, feeds, keep) => {
    let engine = engines.get(graph);
    if (engine === undefined) {
      engine = await Engine.create(graph, { keep });
      engines.set(graph, engine);
    }
    return engine.run(feeds);
  };
}
