/**
 * Calibration for SmoothQuant: the per-channel max|X_j| of every LayerNorm
 * output, over calibration batches run in the reference executor.
 *
 * @module
 */

import { execute } from "../executor/execute.ts";
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

/**
 * Runs `graph` (fused, the graph `smoothQuant` will rewrite) on
 * each feed map of `batches` and returns, for every LayerNorm output, the
 * max |x| of each channel (last axis) over all rows of all batches — the
 * `SmoothQuantStats` that `smoothQuant` takes.
 * Padding rows count too: they pass through the same quantised linears, so
 * their range is part of what the quantiser must cover.
 */
export function collectSmoothQuantStats(
  graph: Graph,
  batches: Iterable<ReadonlyMap<string, Tensor>>,
): ReadonlyMap<string, Float64Array> {
  const values = graph.nodes
    .filter((n) => n.op === "LayerNorm")
    .map((n) => n.outputs[0]);
  const stats = new Map<string, Float64Array>();
  for (const feeds of batches) {
    const run = execute(graph, feeds, values);
    for (const value of values) {
      const t = run.get(value)!;
      const width = t.shape[t.shape.length - 1];
      let max = stats.get(value);
      if (max === undefined) stats.set(value, max = new Float64Array(width));
      const m = max;
      t.data.forEach((v, i) => {
        const j = i % width;
        m[j] = Math.max(m[j], Math.abs(v));
      });
    }
  }
  return stats;
}
