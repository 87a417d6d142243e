/**
 * A WordPiece vocabulary read from the text of a BERT `vocab.txt`.
 *
 * @module
 */

import { VocabError } from "./errors.ts";

/** The ids of the special tokens every BERT encoding uses. */
export interface SpecialTokenIds {
  /** Id of "[PAD]". */
  readonly pad: number;
  /** Id of "[UNK]". */
  readonly unk: number;
  /** Id of "[CLS]". */
  readonly cls: number;
  /** Id of "[SEP]". */
  readonly sep: number;
  /** Id of "[MASK]", or -1 when the vocabulary has none (only MLM needs it). */
  readonly mask: number;
}

/** Token ↔ id mapping with the special-token ids resolved once. */
export class Vocab {
  readonly #ids: Map<string, number>;
  readonly #tokens: readonly string[];
  /** Ids of [PAD], [UNK], [CLS], [SEP], [MASK]. */
  readonly special: SpecialTokenIds;
  /** Length in code points of the longest token, "##" prefix included. */
  readonly maxTokenChars: number;

  private constructor(tokens: string[]) {
    this.#tokens = tokens;
    this.#ids = new Map();
    let maxChars = 0;
    // Later duplicates win, as in HF's load_vocab, so ids agree with it.
    tokens.forEach((token, id) => {
      this.#ids.set(token, id);
      maxChars = Math.max(maxChars, [...token].length);
    });
    this.maxTokenChars = maxChars;
    const required = (token: string): number => {
      const id = this.#ids.get(token);
      if (id === undefined) throw new VocabError(token);
      return id;
    };
    this.special = {
      pad: required("[PAD]"),
      unk: required("[UNK]"),
      cls: required("[CLS]"),
      sep: required("[SEP]"),
      mask: this.#ids.get("[MASK]") ?? -1,
    };
  }

  /**
   * Parses vocab.txt text: one token per line, the id is the 0-based line index.
   *
   * @param text Whole file contents; "\n" or "\r\n" line ends.
   * @throws {VocabError} if [PAD], [UNK], [CLS] or [SEP] is missing.
   */
  static fromText(text: string): Vocab {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    return new Vocab(lines.map((l) => l.endsWith("\r") ? l.slice(0, -1) : l));
  }

  /** Number of ids (lines of vocab.txt). */
  get size(): number {
    return this.#tokens.length;
  }

  /** Returns the id of `token`, or undefined when it is not in the vocabulary. */
  idOf(token: string): number | undefined {
    return this.#ids.get(token);
  }

  /** Returns the token with id `id`; throws RangeError for an id outside [0, size). */
  tokenOf(id: number): string {
    const token = this.#tokens[id];
    if (token === undefined) {
      throw new RangeError(
        `Token id ${id} is outside the vocabulary of ${this.size} tokens.`,
      );
    }
    return token;
  }
}
