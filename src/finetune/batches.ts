/**
 * GLUE examples → fixed-shape batches for a compiled training or
 * evaluation graph: token tensors in the graph's input types, labels, and
 * how many rows are real (the last batch is filled with repeats of its
 * first row, which the metrics then leave out). With length buckets, each
 * batch is padded to the shortest bucket that holds its longest row.
 *
 * @module
 */

import { padBatch } from "../../runtime/data/encoding.ts";
import type { GlueExample } from "../../runtime/data/glue.ts";
import type { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import { feedsFor } from "../analysis/model_feeds.ts";
import type { Graph } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { bucketFor } from "./buckets.ts";

/** One batch ready to feed. */
export interface LabeledBatch {
  /** Token inputs and the labels input, by graph input name. */
  readonly feeds: Map<string, Tensor>;
  /** Rows that are real examples (the rest are filler). */
  readonly rows: number;
  /** Non-padding tokens of the real rows. */
  readonly tokens: number;
  /** Gold labels of the real rows. */
  readonly labels: readonly number[];
  /** Sequence length the rows are padded to (the graph to run them on). */
  readonly length: number;
}

/** Deterministic Fisher–Yates order of `n` items for (seed, epoch). */
export function shuffledOrder(
  n: number,
  seed: number,
  epoch: number,
): number[] {
  let a = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Batches of `batch` rows for `graph` (which has the token inputs and the
 * labels input `labelName`, f32 for regression, i64 else; only their names
 * and dtypes are read, so any bucket's graph serves), in `order` (indices
 * into `examples`). Rows are truncated to `seq` tokens; each batch is padded
 * to the shortest of the sorted `lengths` that holds its longest row.
 */
export function makeBatches(
  graph: Graph,
  examples: readonly GlueExample[],
  order: readonly number[],
  tokenizer: BertTokenizer,
  labelName: string,
  batch: number,
  seq: number,
  lengths: readonly number[] = [seq],
): LabeledBatch[] {
  const labelType = graph.types.get(labelName);
  const batches: LabeledBatch[] = [];
  for (let start = 0; start < order.length; start += batch) {
    const chosen = order.slice(start, start + batch).map((i) => examples[i]);
    const rows = chosen.length;
    while (chosen.length < batch) chosen.push(chosen[0]);
    const rowsEncoded = chosen.map((e) =>
      tokenizer.encode(e.textA, e.textB, { maxLength: seq })
    );
    const length = bucketFor(
      lengths,
      Math.max(...rowsEncoded.map((e) => e.inputIds.length)),
    );
    const encoded = padBatch(rowsEncoded, length, tokenizer.vocab.special.pad);
    const tokenInputs = graph.inputs.filter((name) => name !== labelName);
    const feeds = feedsFor(graph, encoded, undefined, tokenInputs);
    const labels = chosen.map((e) => e.label ?? 0);
    feeds.set(
      labelName,
      tensor(
        labelType?.dtype ?? "i64",
        labelType?.shape as number[] ?? [batch],
        labels,
      ),
    );
    let tokens = 0;
    for (let i = 0; i < rows * length; i++) tokens += encoded.attentionMask[i];
    batches.push({
      feeds,
      rows,
      tokens,
      labels: labels.slice(0, rows),
      length,
    });
  }
  return batches;
}
