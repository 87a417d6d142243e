/**
 * The BERT tokenizer: text → WordPiece ids, and sentence (pair) encoding with
 * truncation and padding, as HF's `BertTokenizer` does it.
 *
 * @example
 * ```ts
 * const tok = BertTokenizer.fromVocabText(vocabText);
 * const enc = tok.encode("The cat sat.", "It was tired.", { maxLength: 128 });
 * const batch = tok.encodeBatch([["a", "b"], ["c", undefined]], { maxLength: 128 });
 * ```
 *
 * @module
 */

import { splitWord, splitWords } from "./basic_tokenizer.ts";
import {
  type BatchEncoding,
  type Encoding,
  padBatch,
  type Padding,
} from "./encoding.ts";
import { EncodeOptionsError } from "./errors.ts";
import { longestFirstLengths } from "./truncation.ts";
import { Vocab } from "./vocab.ts";
import { DEFAULT_MAX_INPUT_CHARS_PER_WORD, wordPieceIds } from "./wordpiece.ts";

/** Options fixed for a tokenizer's lifetime. */
export interface BertTokenizerOptions {
  /** Lower-case and strip accents (uncased models). Default true. */
  readonly lowerCase?: boolean;
  /** Words longer than this many code points become [UNK]. Default 100. */
  readonly maxInputCharsPerWord?: number;
}

/** Options of one encode call. */
export interface EncodeOptions {
  /**
   * Most tokens per encoding, special tokens included; longer inputs are cut
   * "longest_first". Omit to keep everything.
   */
  readonly maxLength?: number;
}

/** Options of a batch encode call. */
export interface EncodeBatchOptions extends EncodeOptions {
  /** "longest" (default) or a fixed length; see {@link Padding}. */
  readonly padding?: Padding;
}

// Beyond this many distinct words the cache is dropped and refilled, so a
// stream of unbounded text cannot grow memory without limit.
const CACHE_LIMIT = 1 << 18;

/** BERT WordPiece tokenizer with a word → ids cache. */
export class BertTokenizer {
  /** The vocabulary. */
  readonly vocab: Vocab;
  readonly #lowerCase: boolean;
  readonly #maxInputCharsPerWord: number;
  readonly #cache = new Map<string, number[]>();

  /**
   * @param vocab The model's vocabulary.
   * @param options Casing and word-length limit.
   */
  constructor(vocab: Vocab, options: BertTokenizerOptions = {}) {
    this.vocab = vocab;
    this.#lowerCase = options.lowerCase ?? true;
    this.#maxInputCharsPerWord = options.maxInputCharsPerWord ??
      DEFAULT_MAX_INPUT_CHARS_PER_WORD;
  }

  /** Builds a tokenizer from the text of a vocab.txt. */
  static fromVocabText(
    text: string,
    options: BertTokenizerOptions = {},
  ): BertTokenizer {
    return new BertTokenizer(Vocab.fromText(text), options);
  }

  /** Text → WordPiece ids, without special tokens. */
  tokenizeToIds(text: string): number[] {
    const ids: number[] = [];
    for (const word of splitWords(text)) {
      let wordIds = this.#cache.get(word);
      if (wordIds === undefined) {
        wordIds = [];
        for (const token of splitWord(word, this.#lowerCase)) {
          wordPieceIds(token, this.vocab, wordIds, this.#maxInputCharsPerWord);
        }
        if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
        this.#cache.set(word, wordIds);
      }
      for (const id of wordIds) ids.push(id);
    }
    return ids;
  }

  /** Text → WordPiece tokens (strings, "##" continuations), without special tokens. */
  tokenize(text: string): string[] {
    return this.tokenizeToIds(text).map((id) => this.vocab.tokenOf(id));
  }

  /**
   * Encodes one sentence, or a pair when `b` is given, with special tokens
   * and segment ids; truncates "longest_first" to `options.maxLength`.
   *
   * @throws {EncodeOptionsError} if maxLength cannot hold the special tokens.
   */
  encode(a: string, b?: string, options: EncodeOptions = {}): Encoding {
    return this.encodeIds(
      this.tokenizeToIds(a),
      b === undefined ? undefined : this.tokenizeToIds(b),
      options,
    );
  }

  /**
   * Like {@link encode}, for sides that are already WordPiece ids.
   *
   * @throws {EncodeOptionsError} if maxLength cannot hold the special tokens.
   */
  encodeIds(
    a: readonly number[],
    b?: readonly number[],
    options: EncodeOptions = {},
  ): Encoding {
    const specials = b === undefined ? 2 : 3;
    let keepA = a.length;
    let keepB = b?.length ?? 0;
    if (options.maxLength !== undefined) {
      if (
        !Number.isInteger(options.maxLength) || options.maxLength < specials
      ) {
        throw new EncodeOptionsError(
          "maxLength",
          options.maxLength,
          `it must be an integer of at least ${specials} to hold [CLS] and [SEP]${
            b === undefined ? "" : " twice"
          }`,
        );
      }
      [keepA, keepB] = longestFirstLengths(
        keepA,
        keepB,
        options.maxLength - specials,
      );
    }
    const { cls, sep } = this.vocab.special;
    const first = [cls, ...a.slice(0, keepA), sep];
    const inputIds = b === undefined
      ? first
      : [...first, ...b.slice(0, keepB), sep];
    const tokenTypeIds = inputIds.map((_, i) => (i < first.length ? 0 : 1));
    return { inputIds, tokenTypeIds };
  }

  /**
   * Encodes and pads a batch of sentences or pairs (`[a, b]`, b may be undefined).
   *
   * @throws {EncodeOptionsError} for a maxLength too small, or a fixed padding
   * shorter than an encoding.
   */
  encodeBatch(
    rows: readonly (readonly [string, string | undefined])[],
    options: EncodeBatchOptions = {},
  ): BatchEncoding {
    const encodings = rows.map(([a, b]) => this.encode(a, b, options));
    return padBatch(
      encodings,
      options.padding ?? "longest",
      this.vocab.special.pad,
    );
  }
}
