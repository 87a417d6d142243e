/**
 * Batches for an artifact's graphs: text (sentences or pairs) with labels
 * tokenised and padded to the artifact's fixed [batch, seq] shape, or
 * tensors the caller encoded. A short batch is filled with repeats of its
 * first row, as the fine-tune loop does, so results on its real rows do not
 * depend on the filler.
 *
 * @module
 */

import { padBatch } from "../data/encoding.ts";
import type { BertTokenizer } from "../data/tokenizer.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { ArtifactError, type ArtifactManifest } from "./manifest.ts";

/** A sentence, or a sentence pair. */
export type TextInput = string | readonly [string, string];

/** Text to tokenise, with one label per row for training and evaluation. */
export interface TextBatch {
  /** 1 to `batch` rows. */
  readonly texts: readonly TextInput[];
  /** Class index (classification) or target (regression) of each row. */
  readonly labels?: readonly number[];
}

/**
 * Tensors by graph input name: the token inputs and the labels input(s),
 * e.g. a span head's start and end positions. Elements are held as the IR
 * holds them: i64 in a Float64Array, f32 in a Float32Array.
 */
export interface FeedBatch {
  /** Every token input and labels input, in the manifest's dtypes and shapes. */
  readonly feeds: Readonly<Record<string, Tensor>>;
}

/** What {@linkcode TrainingArtifact.trainStep} and `evaluate` take. */
export type Batch = TextBatch | FeedBatch;

/** A batch as the graphs take it. */
export interface EncodedBatch {
  /** Feeds by input name. */
  readonly feeds: Map<string, Tensor>;
  /** Real rows (the rest are filler). */
  readonly rows: number;
  /** Gold labels of the real rows (empty for a feed batch). */
  readonly labels: readonly number[];
}

/** Encodes `batch` for the artifact `manifest` describes. */
export function encodeBatch(
  manifest: ArtifactManifest,
  tokenizer: BertTokenizer,
  batch: Batch,
): EncodedBatch {
  if ("feeds" in batch) {
    return {
      feeds: new Map(Object.entries(batch.feeds)),
      rows: manifest.batch,
      labels: [],
    };
  }
  const { texts, labels } = batch;
  const size = manifest.batch;
  if (texts.length < 1 || texts.length > size) {
    throw new ArtifactError(
      `A batch holds 1 to ${size} texts (the compiled batch size), got ${texts.length}.`,
    );
  }
  if (labels !== undefined && labels.length !== texts.length) {
    throw new ArtifactError(
      `A batch needs one label per text: ${texts.length} texts, ${labels.length} labels.`,
    );
  }
  if (labels !== undefined && manifest.labels.length !== 1) {
    throw new ArtifactError(
      `Head '${manifest.head}' takes ${manifest.labels.length} labels inputs; pass its batches as encoded feeds.`,
    );
  }
  const rows = [...texts];
  while (rows.length < size) rows.push(texts[0]);
  const encoded = padBatch(
    rows.map((t) =>
      typeof t === "string"
        ? tokenizer.encode(t, undefined, { maxLength: manifest.seq })
        : tokenizer.encode(t[0], t[1], { maxLength: manifest.seq })
    ),
    manifest.seq,
    tokenizer.vocab.special.pad,
  );
  const feeds = new Map<string, Tensor>();
  for (const input of manifest.inputs) {
    const source = input.role === "ids"
      ? encoded.inputIds
      : input.role === "mask"
      ? encoded.attentionMask
      : encoded.tokenTypeIds;
    feeds.set(input.name, tensor(input.dtype, [size, manifest.seq], source));
  }
  const gold = labels ?? [];
  for (const spec of manifest.labels) {
    const values = Array.from(
      { length: size },
      (_, r) => gold[r < texts.length ? r : 0] ?? 0,
    );
    feeds.set(spec.name, tensor(spec.dtype, [...spec.shape], values));
  }
  return { feeds, rows: texts.length, labels: gold };
}
