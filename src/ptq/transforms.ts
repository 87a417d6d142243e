/**
 * The outlier transforms a calibration can put in front of quantisation —
 * Outlier Suppression's gamma migration, or SmoothQuant with its per-channel
 * activation maxima — recorded in `quant_params.json` so that
 * `compile --infer` rebuilds exactly the graph the ranges were measured on
 * (the site names of the params are those of the transformed graph).
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import type { Graph } from "../ir/graph.ts";
import { migrateGamma } from "../passes/gamma_migration.ts";
import { smoothQuant } from "../passes/smooth_quant.ts";
import type { CompileFor, Runner } from "./calibrate.ts";
import { PtqError } from "./params.ts";
import { feedsFor } from "../analysis/model_feeds.ts";
import { rowTokens } from "../analysis/outlier_report.ts";

/**
 * Per-channel max|x_j| of every LayerNorm output over the real tokens of
 * `batches` — SmoothQuant's activation statistics.
 */
export async function layerNormMaxima(
  compile: CompileFor,
  batches: readonly BatchEncoding[],
  run: Runner,
): Promise<Map<string, Float64Array>> {
  const stats = new Map<string, Float64Array>();
  for (const batch of batches) {
    const graph = compile(batch.batchSize, batch.seqLength);
    const values = graph.nodes.filter((n) => n.op === "LayerNorm").map((n) =>
      n.outputs[0]
    );
    const out = await run(graph, feedsFor(graph, batch), values);
    for (const value of values) {
      const t = out.get(value)!;
      const width = t.shape[t.shape.length - 1];
      const token = rowTokens(batch, t.data.length / width);
      let max = stats.get(value);
      if (max === undefined) stats.set(value, max = new Float64Array(width));
      for (let r = 0; r < t.data.length / width; r++) {
        if (token(r) === undefined) continue;
        for (let j = 0; j < width; j++) {
          max[j] = Math.max(max[j], Math.abs(t.data[r * width + j]));
        }
      }
    }
  }
  return stats;
}

/** What runs between the f32 forward graph and the quantisers. */
export interface OutlierTransforms {
  /** Gamma migration (Outlier Suppression) on every LayerNorm it applies to. */
  readonly gammaMigration?: boolean;
  /** SmoothQuant: α and max|X_j| per LayerNorm output, over the calibration set. */
  readonly smoothQuant?: {
    readonly alpha: number;
    readonly maxima: Readonly<Record<string, readonly number[]>>;
  };
}

/** One step of {@linkcode applyTransforms}, for `--dump-ir`. */
export type TransformStep = (name: string, graph: Graph) => void;

/** Throws unless the transforms can be combined and α is in (0, 1). */
export function checkTransforms(t: OutlierTransforms): void {
  if (t.gammaMigration && t.smoothQuant !== undefined) {
    throw new PtqError(
      "Gamma migration and SmoothQuant rewrite the same LayerNorms; choose one.",
    );
  }
  const alpha = t.smoothQuant?.alpha;
  if (alpha !== undefined && !(alpha > 0 && alpha < 1)) {
    throw new PtqError(
      `SmoothQuant α must lie strictly between 0 and 1, got ${alpha}.`,
    );
  }
}

/** `graph` (compiled f32 forward) through the transforms `t`. */
export function applyTransforms(
  graph: Graph,
  t: OutlierTransforms | undefined,
  observe?: TransformStep,
): Graph {
  if (t === undefined) return graph;
  checkTransforms(t);
  let g = graph;
  if (t.gammaMigration) {
    g = migrateGamma(g).graph;
    observe?.("gamma-migration", g);
  }
  if (t.smoothQuant !== undefined) {
    const { alpha, maxima } = t.smoothQuant;
    g = smoothQuant(g, new Map(Object.entries(maxima)), { alpha }).graph;
    observe?.("smooth-quant", g);
  }
  return g;
}

/**
 * The transforms asked for, with SmoothQuant's maxima measured on the real
 * tokens of `batches`.
 */
export async function measureTransforms(
  compile: CompileFor,
  batches: readonly BatchEncoding[],
  run: Runner,
  ask: { gammaMigration: boolean; smoothAlpha?: number },
): Promise<OutlierTransforms | undefined> {
  const wanted: OutlierTransforms = {
    gammaMigration: ask.gammaMigration,
    smoothQuant: ask.smoothAlpha === undefined
      ? undefined
      : { alpha: ask.smoothAlpha, maxima: {} },
  };
  checkTransforms(wanted);
  if (ask.smoothAlpha !== undefined) {
    const stats = await layerNormMaxima(compile, batches, run);
    const maxima = Object.fromEntries(
      [...stats].map(([value, max]) => [value, Array.from(max)]),
    );
    return { smoothQuant: { alpha: ask.smoothAlpha, maxima } };
  }
  return ask.gammaMigration ? { gammaMigration: true } : undefined;
}
