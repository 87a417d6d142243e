/**
 * Encoded model inputs and padding them into a rectangular batch.
 *
 * @module
 */

import { EncodeOptionsError } from "./errors.ts";

/** One encoded example: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, unpadded. */
export interface Encoding {
  /** Vocabulary ids, special tokens included. */
  readonly inputIds: number[];
  /** 0 for [CLS], a and the first [SEP]; 1 for b and the last [SEP]. */
  readonly tokenTypeIds: number[];
}

/**
 * A batch in row-major [batchSize, seqLength] layout, ready to copy into the
 * model's int64 (or int32) input tensors. Padding is on the right.
 */
export interface BatchEncoding {
  /** Number of rows. */
  readonly batchSize: number;
  /** Tokens per row, padding included. */
  readonly seqLength: number;
  /** Token ids; padding positions hold the [PAD] id. */
  readonly inputIds: Int32Array;
  /** Segment ids; 0 at padding positions. */
  readonly tokenTypeIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  readonly attentionMask: Int32Array;
}

/**
 * How to choose a batch's sequence length: "longest" pads to the longest row
 * of this batch (least compute), a number pads every row to that fixed length
 * (one compiled shape for all batches).
 */
export type Padding = "longest" | number;

/**
 * Pads encodings into one {@link BatchEncoding}.
 *
 * @param encodings The rows; each must already fit a fixed `padding` length
 * (encode with the same max length).
 * @param padding "longest" or a fixed sequence length.
 * @param padId The [PAD] token id.
 * @throws {EncodeOptionsError} if a row is longer than a fixed `padding`.
 */
export function padBatch(
  encodings: readonly Encoding[],
  padding: Padding,
  padId: number,
): BatchEncoding {
  const longest = encodings.reduce((m, e) => Math.max(m, e.inputIds.length), 0);
  const seqLength = padding === "longest" ? longest : padding;
  if (padding !== "longest" && longest > padding) {
    throw new EncodeOptionsError(
      "padding",
      padding,
      `a row has ${longest} tokens; encode with maxLength ${padding} so rows are truncated to fit, or pad to "longest"`,
    );
  }
  const batchSize = encodings.length;
  const inputIds = new Int32Array(batchSize * seqLength).fill(padId);
  const tokenTypeIds = new Int32Array(batchSize * seqLength);
  const attentionMask = new Int32Array(batchSize * seqLength);
  encodings.forEach((e, row) => {
    const offset = row * seqLength;
    inputIds.set(e.inputIds, offset);
    tokenTypeIds.set(e.tokenTypeIds, offset);
    attentionMask.fill(1, offset, offset + e.inputIds.length);
  });
  return { batchSize, seqLength, inputIds, tokenTypeIds, attentionMask };
}
