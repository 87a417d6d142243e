/**
 * Scoring a forward graph (f32, fake-quantised, or any rewrite of it) on a
 * GLUE split with the task's metric. Examples are batched by token length —
 * sorted, so a batch pads only to its own longest row rounded up to 16 —
 * which cuts padded work several-fold on GLUE's short sentences; the order
 * does not change any metric, and the quantisers' static parameters do not
 * depend on the batch.
 *
 * @module
 */

import { type BatchEncoding, padBatch } from "../../runtime/data/encoding.ts";
import type { GlueExample } from "../../runtime/data/glue.ts";
import type { GlueTaskName } from "../../runtime/data/glue_tasks.ts";
import { glueScores } from "../../runtime/data/metrics.ts";
import type { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import { feedsFor } from "../analysis/model_feeds.ts";
import type { CompileFor, Runner } from "./calibrate.ts";
import { PtqError } from "./params.ts";

/** A padded batch and which of its examples it holds. */
export interface ScoredBatch {
  /** The encoded batch (every row padded to `seqLength`). */
  readonly batch: BatchEncoding;
  /** Indices into the example list of its first `rows.length` rows. */
  readonly rows: readonly number[];
}

/**
 * `examples` tokenised, sorted by length and cut into batches of exactly
 * `batchSize` rows (a short last batch repeats its first row, so every
 * batch has one shape per length), each padded to a multiple of 16 — or
 * all to `maxLength` with `fixed`, for models of one static shape.
 */
export function lengthSortedBatches(
  examples: readonly GlueExample[],
  tokenizer: BertTokenizer,
  batchSize = 32,
  maxLength = 128,
  fixed = false,
): ScoredBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new PtqError(`The batch size must be ≥ 1, got ${batchSize}.`);
  }
  const encoded = examples.map((e) =>
    tokenizer.encode(e.textA, e.textB, { maxLength })
  );
  const order = encoded.map((_, i) => i).sort((a, b) =>
    encoded[a].inputIds.length - encoded[b].inputIds.length || a - b
  );
  const out: ScoredBatch[] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const rows = order.slice(i, i + batchSize);
    const filled = [...rows];
    while (filled.length < batchSize) filled.push(rows[0]);
    const longest = encoded[rows[rows.length - 1]].inputIds.length;
    const length = fixed
      ? maxLength
      : Math.min(maxLength, Math.ceil(longest / 16) * 16);
    out.push({
      batch: padBatch(
        filled.map((r) => encoded[r]),
        length,
        tokenizer.vocab.special.pad,
      ),
      rows,
    });
  }
  return out;
}

/** Predictions and metrics of one scored split. */
export interface SplitScore {
  /** The task's GLUE metrics (fractions, not percent). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Per example, in input order: class index, or the score (regression). */
  readonly predictions: readonly number[];
}

/**
 * Runs the graph of each batch's shape on `batches` and scores the
 * `logits` against the examples' labels with `task`'s GLUE metric;
 * `onBatch` sees progress.
 */
export async function scoreSplit(
  task: GlueTaskName,
  examples: readonly GlueExample[],
  batches: readonly ScoredBatch[],
  compile: CompileFor,
  run: Runner,
  onBatch?: (done: number, total: number) => void,
): Promise<SplitScore> {
  const predictions = new Array<number>(examples.length).fill(NaN);
  for (const [k, { batch, rows }] of batches.entries()) {
    const graph = compile(batch.batchSize, batch.seqLength);
    const out = await run(graph, feedsFor(graph, batch), []);
    const logits = out.get("logits");
    if (logits === undefined) {
      throw new PtqError(`The graph has no 'logits' output to score.`);
    }
    const classes = logits.shape[logits.shape.length - 1];
    rows.forEach((example, r) => {
      const row = Array.from(
        logits.data.subarray(r * classes, (r + 1) * classes),
      );
      predictions[example] = classes === 1
        ? row[0]
        : row.indexOf(Math.max(...row));
    });
    onBatch?.(k + 1, batches.length);
  }
  const labels = examples.map((e, i) => {
    if (e.label === undefined) {
      throw new PtqError(
        `Example ${i} (line ${e.line}) has no label; score a labelled split.`,
      );
    }
    return e.label;
  });
  if (predictions.some(Number.isNaN)) {
    throw new PtqError("Some examples are in no batch.");
  }
  return {
    metrics: glueScores(task, predictions, labels) as Record<string, number>,
    predictions,
  };
}
