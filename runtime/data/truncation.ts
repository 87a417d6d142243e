/**
 * How long each side of a pair may stay when an encoding must fit a length.
 *
 * @module
 */

/**
 * Lengths of sides a and b after "longest_first" truncation to `budget` tokens.
 *
 * Equivalent to removing one token at a time from the end of the longer side,
 * and from b when both are equal — the loop of BERT's `_truncate_seq_pair`
 * and of HF transformers' `truncate_sequences` (slow tokenizers). Computed in
 * closed form so very long inputs cost nothing extra.
 *
 * @param lengthA Tokens in side a.
 * @param lengthB Tokens in side b (0 for a single sentence).
 * @param budget Tokens allowed for a and b together (max length minus special tokens).
 * @returns The kept lengths `[keepA, keepB]`.
 */
export function longestFirstLengths(
  lengthA: number,
  lengthB: number,
  budget: number,
): [number, number] {
  const excess = lengthA + lengthB - budget;
  if (excess <= 0) return [lengthA, lengthB];
  const gap = Math.abs(lengthA - lengthB);
  const first = Math.min(gap, excess);
  const rest = excess - first;
  // After the longer side is cut down to the shorter one, removals alternate
  // starting with b, so b loses the odd one out.
  const fromA = (lengthA > lengthB ? first : 0) + Math.floor(rest / 2);
  const fromB = (lengthA > lengthB ? 0 : first) + Math.ceil(rest / 2);
  return [lengthA - fromA, lengthB - fromB];
}
