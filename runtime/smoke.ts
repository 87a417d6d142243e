/**
 * A smoke check of the runtime that gives the same answer in every
 * environment: it tokenises fixed text, pads a batch and scores fixed
 * predictions. An embedder runs it once to see that the bundle works where
 * it is loaded; the bundle tests run it in Deno, Node and a browser and
 * compare the answers.
 *
 * @example
 * ```ts
 * const vocabText = await (await fetch("vocab.txt")).text();
 * const result = runSmoke(vocabText);
 * console.log(result.metrics.mcc); // 0.5
 * ```
 *
 * @module
 */

import {
  accuracy,
  BertTokenizer,
  f1Binary,
  matthewsCorrelation,
  pearson,
  spearman,
} from "./data/mod.ts";

/** An encoded sentence or pair, as plain arrays. */
export interface SmokeEncoding {
  /** Vocabulary ids, [CLS] and [SEP] included. */
  readonly inputIds: number[];
  /** 0 for the first segment, 1 for the second. */
  readonly tokenTypeIds: number[];
}

/** A padded batch, as plain arrays in row-major [batchSize, seqLength] order. */
export interface SmokeBatch extends SmokeEncoding {
  /** Number of rows. */
  readonly batchSize: number;
  /** Tokens per row, padding included. */
  readonly seqLength: number;
  /** 1 for real tokens, 0 for padding. */
  readonly attentionMask: number[];
}

/** The scores of the fixed predictions. */
export interface SmokeMetrics {
  /** Accuracy of {@link SMOKE_PREDICTIONS} against {@link SMOKE_LABELS}. */
  readonly accuracy: number;
  /** Binary F1 of the same. */
  readonly f1: number;
  /** Matthews correlation of the same. */
  readonly mcc: number;
  /** Pearson correlation of {@link SMOKE_SCORES}. */
  readonly pearson: number;
  /** Spearman correlation of {@link SMOKE_SCORES} (with ties). */
  readonly spearman: number;
}

/**
 * Everything {@link runSmoke} computed. Plain data only, so it survives
 * `JSON.stringify` unchanged and answers from different environments compare
 * with a deep equality.
 */
export interface SmokeResult {
  /** WordPiece tokens of {@link SMOKE_TEXT}. */
  readonly tokens: string[];
  /** {@link SMOKE_TEXT} encoded as one sentence. */
  readonly single: SmokeEncoding;
  /** {@link SMOKE_PAIR} encoded as a pair, truncated to {@link SMOKE_MAX_LENGTH}. */
  readonly pair: SmokeEncoding;
  /** A short sentence and {@link SMOKE_PAIR}, padded to the longer row. */
  readonly batch: SmokeBatch;
  /** Scores of the fixed arrays. */
  readonly metrics: SmokeMetrics;
}

/** Exercises lower-casing, accent stripping, punctuation, WordPiece and CJK. */
export const SMOKE_TEXT = "Héllo, unaffable world! 中国";

/** A sentence pair longer than {@link SMOKE_MAX_LENGTH}, so both sides get cut. */
export const SMOKE_PAIR: readonly [string, string] = [
  "The quick brown fox jumps over the lazy dog.",
  "It was not amused.",
];

/** The pair's length limit, special tokens included. */
export const SMOKE_MAX_LENGTH = 12;

/** Class predictions scored against {@link SMOKE_LABELS}. */
export const SMOKE_PREDICTIONS: readonly number[] = [1, 0, 1, 1, 0, 1, 0, 0];

/** Gold classes for {@link SMOKE_PREDICTIONS}. */
export const SMOKE_LABELS: readonly number[] = [1, 0, 0, 1, 0, 1, 1, 0];

/** Predicted and gold similarity scores; the ties exercise average ranks. */
export const SMOKE_SCORES: {
  readonly predicted: readonly number[];
  readonly gold: readonly number[];
} = {
  predicted: [0.1, 0.4, 0.35, 0.8, 0.8, 2.5],
  gold: [0, 1, 1, 3, 2, 5],
};

/**
 * Runs the smoke check.
 *
 * @param vocabText The text of bert-base-uncased's vocab.txt (the expected
 * answers in the tests are for that vocabulary).
 */
export function runSmoke(vocabText: string): SmokeResult {
  const tok = BertTokenizer.fromVocabText(vocabText);
  const [a, b] = SMOKE_PAIR;
  const batch = tok.encodeBatch([["Hi.", undefined], [a, b]], {
    maxLength: SMOKE_MAX_LENGTH,
  });
  return {
    tokens: tok.tokenize(SMOKE_TEXT),
    single: tok.encode(SMOKE_TEXT),
    pair: tok.encode(a, b, { maxLength: SMOKE_MAX_LENGTH }),
    batch: {
      batchSize: batch.batchSize,
      seqLength: batch.seqLength,
      inputIds: [...batch.inputIds],
      tokenTypeIds: [...batch.tokenTypeIds],
      attentionMask: [...batch.attentionMask],
    },
    metrics: {
      accuracy: accuracy(SMOKE_PREDICTIONS, SMOKE_LABELS),
      f1: f1Binary(SMOKE_PREDICTIONS, SMOKE_LABELS),
      mcc: matthewsCorrelation(SMOKE_PREDICTIONS, SMOKE_LABELS),
      pearson: pearson(SMOKE_SCORES.predicted, SMOKE_SCORES.gold),
      spearman: spearman(SMOKE_SCORES.predicted, SMOKE_SCORES.gold),
    },
  };
}
