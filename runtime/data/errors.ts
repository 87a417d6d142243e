/**
 * Error classes of the data layer. Each one carries the facts a caller needs
 * to react (file, line, task, ...) as fields, and a message that says where
 * the problem is and what to do about it.
 *
 * @module
 */

/** A row of a dataset file (TSV or JSON) that does not fit its task's layout. */
export class DataFormatError extends Error {
  /** The file name as given to the parser (a path, or a label such as "inline"). */
  readonly file: string;
  /** 1-based line number of the bad row in the file; 0 when not line-based. */
  readonly line: number;
  /** What is wrong with the row, as a sentence fragment. */
  readonly reason: string;

  /**
   * @param file File name shown to the user.
   * @param line 1-based line number, or 0 for a problem not tied to a line.
   * @param reason What is wrong, e.g. "expected 4 columns but found 3".
   * @param hint What to do about it; defaults to a generic suggestion.
   */
  constructor(file: string, line: number, reason: string, hint?: string) {
    const where = line > 0 ? `${file}, line ${line}` : file;
    super(
      `Bad data in ${where}: ${reason}. ${
        hint ??
          "Fix or remove the row, or check that the file matches the task and split."
      }`,
    );
    this.name = "DataFormatError";
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

/** A vocab.txt that lacks a token the tokenizer cannot work without. */
export class VocabError extends Error {
  /** The token that is missing, e.g. "[UNK]". */
  readonly token: string;

  /** @param token The missing token. */
  constructor(token: string) {
    super(
      `Vocabulary has no "${token}" token. Load the vocab.txt that belongs to the model (BERT vocabularies list [PAD], [UNK], [CLS], [SEP] and [MASK]).`,
    );
    this.name = "VocabError";
    this.token = token;
  }
}

/** Encoding options that cannot be satisfied, e.g. a max length too short for the special tokens. */
export class EncodeOptionsError extends Error {
  /** The option at fault, e.g. "maxLength". */
  readonly option: string;
  /** The value that was given. */
  readonly value: unknown;

  /**
   * @param option Name of the option at fault.
   * @param value The rejected value.
   * @param reason Why it is rejected and what to use instead.
   */
  constructor(option: string, value: unknown, reason: string) {
    super(`Invalid ${option} ${String(value)}: ${reason}.`);
    this.name = "EncodeOptionsError";
    this.option = option;
    this.value = value;
  }
}
