/**
 * BERT's BasicTokenizer: text → words, before WordPiece.
 *
 * Follows google-research/bert `tokenization.py` and HF transformers'
 * `BasicTokenizer` step for step:
 * 1. clean: drop NUL, U+FFFD and control characters (every Unicode "C*"
 *    category except \t \n \r, as HF's `_is_control` does), turn \t \n \r and
 *    "Zs" space separators into " ";
 * 2. put spaces around CJK ideographs (BERT's `_is_chinese_char` ranges);
 * 3. split on whitespace (Python `str.split()`'s whitespace set);
 * 4. per word, when lower-casing: lower-case, NFD, drop "Mn" combining marks;
 * 5. split every punctuation character off as its own token: ASCII 33–47,
 *    58–64, 91–96, 123–126 (so `$ + < = > ^ \` | ~` count) and every "P*"
 *    character.
 *
 * Steps 4–5 depend only on the word, which is what lets `BertTokenizer`
 * cache word → ids.
 *
 * HF's Rust "fast" tokenizer differs in two corners, both absent from the
 * GLUE and SQuAD files: it keeps unassigned code points (Cn) where HF's
 * Python drops them, and it lower-cases character by character, so a
 * word-final "Σ" becomes "σ" there but "ς" here and in Python.
 *
 * @module
 */

/**
 * A run of the characters Python's `str.isspace()` accepts — what Python's
 * `str.split()` splits on. BERT's `whitespace_tokenize`, run_squad and
 * SQuAD's evaluation all split that way; JS `\s` differs (U+FEFF, U+001C-1F).
 */
export const PYTHON_WHITESPACE_RUN =
  // deno-lint-ignore no-control-regex -- \x1c-\x1f are whitespace to Python.
  /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

const DROPPED_CHARS = /[\0\uFFFD]|(?![\t\n\r])\p{C}/gu;
const BERT_WHITESPACE = /[\t\n\r\p{Zs}]/gu;
const CJK_IDEOGRAPH =
  /[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]/gu;
const COMBINING_MARK = /\p{Mn}/gu;
const PUNCTUATION = /([\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e\p{P}])/u;

/** Options of the basic tokenizer. */
export interface BasicTokenizerOptions {
  /** Lower-case and strip accents (uncased BERT). Default true. */
  readonly lowerCase?: boolean;
}

/**
 * Steps 1–3: cleans `text`, isolates CJK ideographs and splits on whitespace.
 *
 * @returns The whitespace-separated words, none empty.
 */
export function splitWords(text: string): string[] {
  const spaced = text
    .replace(DROPPED_CHARS, "")
    .replace(BERT_WHITESPACE, " ")
    .replace(CJK_IDEOGRAPH, " $& ");
  return spaced.split(PYTHON_WHITESPACE_RUN).filter((w) => w !== "");
}

/**
 * Steps 4–5 for one word from {@link splitWords}: normalises it and splits
 * punctuation off.
 *
 * @returns The word's basic tokens, none empty (a word made only of combining
 * marks yields none).
 */
export function splitWord(word: string, lowerCase = true): string[] {
  const normal = lowerCase
    ? word.toLowerCase().normalize("NFD").replace(COMBINING_MARK, "")
    : word;
  return normal.split(PUNCTUATION).filter((t) => t !== "");
}

/**
 * The whole BasicTokenizer: text → basic tokens.
 *
 * @example
 * ```ts
 * basicTokenize("Héllo, World!"); // ["hello", ",", "world", "!"]
 * ```
 */
export function basicTokenize(
  text: string,
  options: BasicTokenizerOptions = {},
): string[] {
  const lowerCase = options.lowerCase ?? true;
  return splitWords(text).flatMap((w) => splitWord(w, lowerCase));
}
