/**
 * SQuAD features → fixed-shape batches for a graph with the `span` head:
 * token tensors in the graph's input types plus `start_positions` and
 * `end_positions`. Batches are built one at a time, because a SQuAD epoch of
 * long windows would hold tens of megabytes of feeds if built up front, and
 * each is padded to the shortest length bucket that holds its longest
 * window (`buckets.ts`).
 *
 * @module
 */

import { padBatch } from "../../runtime/data/encoding.ts";
import type { SquadFeature } from "../../runtime/data/squad_features.ts";
import { feedsFor } from "../analysis/model_feeds.ts";
import type { Graph } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { bucketFor } from "./buckets.ts";

/** The labels inputs the `span` head adds (see `attach_head.ts`). */
export const SPAN_LABELS = ["start_positions", "end_positions"] as const;

/** One batch ready to feed. */
export interface SpanBatch {
  /** Token inputs and both position inputs, by graph input name. */
  readonly feeds: Map<string, Tensor>;
  /** Rows that are real features (the rest repeat the first row). */
  readonly rows: number;
  /** Non-padding tokens of the real rows. */
  readonly tokens: number;
  /** Sequence length the rows are padded to (the graph to run them on). */
  readonly length: number;
}

/**
 * The features a training step can learn from: those with a target. A
 * feature whose example's annotation did not match its context has none
 * (run_squad skips such examples in training).
 */
export function trainingFeatures(
  features: readonly SquadFeature[],
): SquadFeature[] {
  return features.filter((f) => f.startPosition !== null);
}

/**
 * The batch of `rows` (indices into `features`) for `graph` (only its input
 * names and dtypes are read, so any bucket's graph serves): `batch` rows,
 * padded to the shortest of the sorted `lengths` that holds the longest.
 * Features without a target get position 0 ([CLS]); only evaluation feeds
 * such rows, where the loss is not used.
 */
export function spanBatch(
  graph: Graph,
  features: readonly SquadFeature[],
  rows: readonly number[],
  batch: number,
  lengths: readonly number[],
  padId: number,
): SpanBatch {
  const chosen = rows.map((i) => features[i]);
  while (chosen.length < batch) chosen.push(chosen[0]);
  const length = bucketFor(
    lengths,
    Math.max(...chosen.map((f) => f.inputIds.length)),
  );
  const encoded = padBatch(chosen, length, padId);
  const labels: readonly string[] = SPAN_LABELS;
  const tokenInputs = graph.inputs.filter((name) => !labels.includes(name));
  const feeds = feedsFor(graph, encoded, undefined, tokenInputs);
  const positions = [
    chosen.map((f) => f.startPosition ?? 0),
    chosen.map((f) => f.endPosition ?? 0),
  ];
  SPAN_LABELS.forEach((name, k) => {
    feeds.set(
      name,
      tensor(graph.types.get(name)?.dtype ?? "i64", [batch], positions[k]),
    );
  });
  let tokens = 0;
  for (let i = 0; i < rows.length * length; i++) {
    tokens += encoded.attentionMask[i];
  }
  return { feeds, rows: rows.length, tokens, length };
}
