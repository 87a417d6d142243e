/**
 * The outlier report: runs a model over real sentences in the reference
 * executor and measures, for every linear-layer input, how many activations
 * exceed γ, how large they get, and which channels and tokens carry them.
 *
 * @module
 */

import { referenceRunner, type Runner } from "./graph_runner.ts";
import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import type { Vocab } from "../../runtime/data/vocab.ts";
import type { Graph } from "../ir/graph.ts";
import { FORWARD_PIPELINE, runPipeline } from "../passes/pipeline.ts";
import { findLinearInputs, type LinearInput } from "./linear_inputs.ts";
import { feedsFor } from "./model_feeds.ts";
import { HISTOGRAM_EDGES, OutlierStats } from "./outlier_stats.ts";

/** What the report measured for one linear-layer input. */
export interface InputReport extends LinearInput {
  /** Elements measured (padding excluded). */
  readonly elements: number;
  /** Fraction with |x| > γ. */
  readonly outlierFraction: number;
  /** Largest |x|. */
  readonly maxAbs: number;
  /** Elements whose Approach-2 k would need more than int8. */
  readonly kOverflow: number;
  /** Outlier fraction in padding rows (0 when there were none). */
  readonly paddingOutlierFraction: number;
  /** Largest |x| in padding rows. */
  readonly paddingMaxAbs: number;
  /** Channels carrying the most outliers. */
  readonly topChannels: readonly { channel: number; count: number }[];
  /** Tokens carrying the most outliers. */
  readonly topTokens: readonly { token: string; count: number }[];
  /** Element counts per bin of {@linkcode HISTOGRAM_EDGES}. */
  readonly histogram: readonly number[];
}

/** The whole report. */
export interface OutlierReport {
  /** Threshold γ. */
  readonly gamma: number;
  /** Sentences (or pairs) run. */
  readonly sentences: number;
  /** Non-padding tokens run. */
  readonly tokens: number;
  /** Histogram bin edges of |x|. */
  readonly histogramEdges: readonly number[];
  /** One entry per linear-layer input, in graph order. */
  readonly inputs: readonly InputReport[];
}

/** Progress after each batch. */
export type ReportProgress = (
  done: number,
  total: number,
  tokens: number,
) => void;

/** The token id of each row of an activation, or `undefined` for padding. */
export function rowTokens(
  batch: BatchEncoding,
  rows: number,
): (row: number) => number | undefined {
  const { batchSize, seqLength, inputIds, attentionMask } = batch;
  if (rows === batchSize * seqLength) {
    return (r) => (attentionMask[r] === 1 ? inputIds[r] : undefined);
  }
  // One row per sequence (the pooler): the [CLS] position.
  if (rows === batchSize) return (r) => inputIds[r * seqLength];
  return () => -1;
}

/**
 * Measures outliers of `graph` (as imported) over `batches`, running it
 * with `run` (the reference executor unless told otherwise).
 */
export async function measureOutliers(
  graph: Graph,
  batches: readonly BatchEncoding[],
  vocab: Vocab,
  gamma: number,
  onProgress?: ReportProgress,
  run: Runner = referenceRunner,
): Promise<OutlierReport> {
  const compiled = new Map<string, Graph>();
  const stats = new Map<string, OutlierStats>();
  let inputs: LinearInput[] = [];
  let tokens = 0;
  for (const [i, batch] of batches.entries()) {
    const key = `${batch.batchSize}x${batch.seqLength}`;
    let g = compiled.get(key);
    if (g === undefined) {
      g = runPipeline(graph, {
        batch: batch.batchSize,
        seq: batch.seqLength,
        dims: {},
      }, FORWARD_PIPELINE);
      compiled.set(key, g);
      inputs = findLinearInputs(g);
    }
    const values = await run(
      g,
      feedsFor(g, batch),
      inputs.map((input) => input.value),
    );
    for (const input of inputs) {
      const t = values.get(input.value)!;
      const width = t.shape[t.shape.length - 1];
      let s = stats.get(input.value);
      if (s === undefined) {
        s = new OutlierStats(width, gamma);
        stats.set(input.value, s);
      }
      s.add(t.data, rowTokens(batch, t.data.length / width));
    }
    tokens += batch.attentionMask.reduce((a, b) => a + b, 0);
    onProgress?.(i + 1, batches.length, tokens);
  }
  const tokenName = (id: number) => (id < 0 ? "?" : vocab.tokenOf(id));
  return {
    gamma,
    sentences: batches.reduce((n, b) => n + b.batchSize, 0),
    tokens,
    histogramEdges: HISTOGRAM_EDGES,
    inputs: inputs.map((input) => {
      const s = stats.get(input.value)!;
      return {
        ...input,
        elements: s.elements,
        outlierFraction: s.fraction,
        maxAbs: s.maxAbs,
        kOverflow: s.kOverflow,
        paddingOutlierFraction: s.paddingElements === 0
          ? 0
          : s.paddingOutliers / s.paddingElements,
        paddingMaxAbs: s.paddingMaxAbs,
        topChannels: s.topChannels(5),
        topTokens: s.topTokens(5).map(({ token, count }) => ({
          token: tokenName(token),
          count,
        })),
        histogram: Array.from(s.histogram),
      };
    }),
  };
}

/** The report as a markdown table. */
export function formatReport(report: OutlierReport): string {
  const rows = report.inputs.map((r) => {
    const channels = r.topChannels.map((c) =>
      `${c.channel} (${c.count})`
    ).join(", ") || "–";
    const tokens =
      r.topTokens.map((t) => `${t.token} (${t.count})`).join(", ") || "–";
    const layer = r.layer < 0 ? "–" : String(r.layer);
    return `| ${layer} | ${r.role} | ${r.outlierFraction.toExponential(2)} | ${
      r.maxAbs.toFixed(2)
    } | ${channels} | ${tokens} | ${r.kOverflow} | ${
      r.paddingOutlierFraction.toExponential(2)
    } (${r.paddingMaxAbs.toFixed(2)}) |`;
  });
  return [
    `| layer | input of | fraction \\|x\\| > ${report.gamma} | max \\|x\\| | top channels (outliers) | top tokens (outliers) | \\|k\\| > 127 | padding rows: fraction (max \\|x\\|) |`,
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
