/**
 * SQuAD examples → model inputs: `[CLS] question [SEP] context window [SEP]`,
 * with long contexts cut into overlapping windows ("doc stride"), exactly as
 * BERT's `run_squad.py` `convert_examples_to_features` does.
 *
 * @module
 */

import type { Encoding } from "./encoding.ts";
import { EncodeOptionsError } from "./errors.ts";
import type { SquadExample } from "./squad_examples.ts";
import type { BertTokenizer } from "./tokenizer.ts";

/** Window sizes; the defaults are run_squad's. */
export interface SquadFeatureOptions {
  /** Tokens per feature, special tokens included. Default 384. */
  readonly maxSeqLength?: number;
  /** Start of each window is this many tokens after the previous one. Default 128. */
  readonly docStride?: number;
  /** Question tokens beyond this are cut. Default 64. */
  readonly maxQueryLength?: number;
}

/** One window of one example, unpadded (pad with {@link padBatch}). */
export interface SquadFeature extends Encoding {
  /** Index of the example in the list given to {@link squadFeatures}. */
  readonly exampleIndex: number;
  /** Which window of the example this is, from 0. */
  readonly windowIndex: number;
  /** Per position: index of the context word the token came from, or -1 (question, specials). */
  readonly tokenToWord: Int32Array;
  /**
   * Per position: 1 where this window sees the token with the most context on
   * both sides of all windows that hold it. Only such positions may start an
   * answer, so overlapping windows do not vote twice.
   */
  readonly maxContext: Uint8Array;
  /**
   * Training target: the answer's first and last positions, or 0 ([CLS]) for
   * an unanswerable question or an answer outside this window. Null when the
   * example has no usable target (its annotation did not match the context).
   */
  readonly startPosition: number | null;
  /** Last position of the training target; see {@link startPosition}. */
  readonly endPosition: number | null;
}

interface Window {
  readonly start: number;
  readonly length: number;
}

/**
 * Builds the features of all examples, in example order.
 *
 * @throws {EncodeOptionsError} if the windows would hold no context token.
 */
export function squadFeatures(
  examples: readonly SquadExample[],
  tokenizer: BertTokenizer,
  options: SquadFeatureOptions = {},
): SquadFeature[] {
  const maxSeqLength = options.maxSeqLength ?? 384;
  const docStride = options.docStride ?? 128;
  const maxQueryLength = options.maxQueryLength ?? 64;
  if (maxSeqLength - maxQueryLength - 3 < 1) {
    throw new EncodeOptionsError(
      "maxSeqLength",
      maxSeqLength,
      `it must exceed maxQueryLength (${maxQueryLength}) + 3 so every window holds context`,
    );
  }
  if (!Number.isInteger(docStride) || docStride < 1) {
    throw new EncodeOptionsError(
      "docStride",
      docStride,
      "it must be a positive integer",
    );
  }
  const features: SquadFeature[] = [];
  examples.forEach((example, exampleIndex) => {
    const query = tokenizer.tokenizeToIds(example.question).slice(
      0,
      maxQueryLength,
    );
    const docIds: number[] = [];
    const docToWord: number[] = [];
    const wordToDoc: number[] = [];
    example.docTokens.forEach((word, w) => {
      wordToDoc.push(docIds.length);
      for (const id of tokenizer.tokenizeToIds(word)) {
        docIds.push(id);
        docToWord.push(w);
      }
    });
    const target = answerTokens(example, docIds, wordToDoc, tokenizer);
    const windows = slideWindows(
      docIds.length,
      maxSeqLength - query.length - 3,
      docStride,
    );
    const { cls, sep } = tokenizer.vocab.special;
    const docOffset = query.length + 2;
    windows.forEach((window, windowIndex) => {
      const inputIds = [
        cls,
        ...query,
        sep,
        ...docIds.slice(window.start, window.start + window.length),
        sep,
      ];
      const tokenTypeIds = inputIds.map((_, i) => (i < docOffset ? 0 : 1));
      const tokenToWord = new Int32Array(inputIds.length).fill(-1);
      const maxContext = new Uint8Array(inputIds.length);
      for (let i = 0; i < window.length; i++) {
        tokenToWord[docOffset + i] = docToWord[window.start + i];
        maxContext[docOffset + i] =
          isMaxContext(windows, windowIndex, window.start + i) ? 1 : 0;
      }
      let startPosition: number | null = null,
        endPosition: number | null = null;
      if (example.isImpossible) {
        startPosition = endPosition = 0;
      } else if (target !== null) {
        const inside = target.start >= window.start &&
          target.end < window.start + window.length;
        startPosition = inside ? target.start - window.start + docOffset : 0;
        endPosition = inside ? target.end - window.start + docOffset : 0;
      }
      features.push({
        exampleIndex,
        windowIndex,
        inputIds,
        tokenTypeIds,
        tokenToWord,
        maxContext,
        startPosition,
        endPosition,
      });
    });
  });
  return features;
}

/**
 * run_squad's doc spans: windows of at most `size` tokens, each `stride` after
 * the last, until one reaches the end. An empty context has no window, so its
 * example has no feature, as in run_squad.
 */
function slideWindows(total: number, size: number, stride: number): Window[] {
  const windows: Window[] = [];
  for (let start = 0; start < total; start += Math.min(size, stride)) {
    const length = Math.min(size, total - start);
    windows.push({ start, length });
    if (start + length === total) break;
  }
  return windows;
}

/**
 * The answer's WordPiece span in the whole context: from the first token of
 * its first word to the last token of its last word, then tightened to the
 * sub-span whose tokens equal the answer's own tokens (run_squad's
 * `_improve_answer_span`: "(1895-1943)." with answer "1895" maps to "1895").
 */
function answerTokens(
  example: SquadExample,
  docIds: readonly number[],
  wordToDoc: readonly number[],
  tokenizer: BertTokenizer,
): { start: number; end: number } | null {
  const span = example.answerSpan;
  if (span === null || example.isImpossible) return null;
  const start = wordToDoc[span.startWord];
  const end = span.endWord < example.docTokens.length - 1
    ? wordToDoc[span.endWord + 1] - 1
    : docIds.length - 1;
  const answer = tokenizer.tokenizeToIds(span.text);
  for (let s = start; s <= end; s++) {
    for (let e = end; e >= s; e--) {
      if (
        e - s + 1 === answer.length &&
        answer.every((id, i) => docIds[s + i] === id)
      ) {
        return { start: s, end: e };
      }
    }
  }
  return { start, end };
}

/** run_squad's `_check_is_max_context`: score = min(left, right context) + 0.01 · window length. */
function isMaxContext(
  windows: readonly Window[],
  current: number,
  position: number,
): boolean {
  let best = -1, bestScore = -Infinity;
  windows.forEach((w, i) => {
    const end = w.start + w.length - 1;
    if (position < w.start || position > end) return;
    const score = Math.min(position - w.start, end - position) +
      0.01 * w.length;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best === current;
}
