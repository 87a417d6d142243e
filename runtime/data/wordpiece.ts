/**
 * WordPiece: one basic token → vocabulary ids, greedy longest match first.
 *
 * @module
 */

import type { Vocab } from "./vocab.ts";

/** Words longer than this many code points become [UNK], as in BERT. */
export const DEFAULT_MAX_INPUT_CHARS_PER_WORD = 100;

/**
 * Splits one basic token into WordPiece ids and appends them to `out`.
 *
 * From the start of the word, takes the longest prefix in the vocabulary,
 * then continues from where it ended with "##"-prefixed pieces. If some
 * position has no matching piece, or the word is longer than
 * `maxInputCharsPerWord` code points, the whole word becomes one [UNK] —
 * exactly BERT's `WordpieceTokenizer.tokenize`.
 *
 * @param token A basic token (no whitespace).
 * @param vocab The vocabulary.
 * @param out Receives the ids.
 * @param maxInputCharsPerWord Longest word, in code points, that is split.
 */
export function wordPieceIds(
  token: string,
  vocab: Vocab,
  out: number[],
  maxInputCharsPerWord: number = DEFAULT_MAX_INPUT_CHARS_PER_WORD,
): void {
  const chars = [...token];
  if (chars.length > maxInputCharsPerWord) {
    out.push(vocab.special.unk);
    return;
  }
  const pieces: number[] = [];
  let start = 0;
  while (start < chars.length) {
    // No vocabulary entry is longer than maxTokenChars, so longer candidates
    // cannot match; skipping them keeps the search linear in practice.
    const prefixChars = start > 0 ? 2 : 0;
    let end = Math.min(
      chars.length,
      start + Math.max(1, vocab.maxTokenChars - prefixChars),
    );
    let id: number | undefined;
    while (start < end) {
      const piece = chars.slice(start, end).join("");
      id = vocab.idOf(start > 0 ? "##" + piece : piece);
      if (id !== undefined) break;
      end--;
    }
    if (id === undefined) {
      out.push(vocab.special.unk);
      return;
    }
    pieces.push(id);
    start = end;
  }
  for (const id of pieces) out.push(id);
}
