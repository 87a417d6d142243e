/**
 * SQuAD v1.1 / v2.0 JSON → question examples, with each context split into
 * whitespace-separated words as BERT's `run_squad.py` does, and the first
 * gold answer mapped from character offsets to word positions.
 *
 * Offsets in SQuAD files count Unicode code points (Python string indices),
 * not UTF-16 units, so contexts are walked by code point throughout.
 *
 * @module
 */

import { PYTHON_WHITESPACE_RUN } from "./basic_tokenizer.ts";
import { DataFormatError } from "./errors.ts";

/** One gold answer. */
export interface SquadAnswer {
  /** Answer text as annotated. */
  readonly text: string;
  /** Code-point offset of the answer in the context. */
  readonly start: number;
}

/** Where the first gold answer lies in the context's words. */
export interface SquadAnswerSpan {
  /** Index of the first word of the answer in `docTokens`. */
  readonly startWord: number;
  /** Index of the last word of the answer (inclusive). */
  readonly endWord: number;
  /** The answer text, used to tighten the span to WordPiece tokens. */
  readonly text: string;
}

/** One question over one paragraph. */
export interface SquadExample {
  /** The question id ("qas" entry "id"). */
  readonly id: string;
  /** Question text. */
  readonly question: string;
  /** Paragraph text. */
  readonly context: string;
  /** The context split on whitespace (shared by all questions of a paragraph). */
  readonly docTokens: readonly string[];
  /** All gold answers; empty for unanswerable v2.0 questions. */
  readonly answers: readonly SquadAnswer[];
  /** True for v2.0 questions marked "is_impossible". */
  readonly isImpossible: boolean;
  /**
   * The first answer's word span, the training target. Null when the question
   * is unanswerable, or when the annotated text is not found at its offset
   * (run_squad skips such examples in training; they still count in evaluation).
   */
  readonly answerSpan: SquadAnswerSpan | null;
}

/** One article ("data" entry) of a SQuAD file and where its questions are. */
export interface SquadArticle {
  /** The article's "title" ("" when the file has none). */
  readonly title: string;
  /** Index in `examples` of the article's first question. */
  readonly firstExample: number;
  /** How many questions the article has (they follow each other in `examples`). */
  readonly exampleCount: number;
}

/** A parsed SQuAD file. */
export interface SquadDataset {
  /** The file's "version" field, e.g. "1.1" or "v2.0". */
  readonly version: string;
  /** Questions in file order. */
  readonly examples: SquadExample[];
  /** Articles in file order; together they cover `examples` exactly. */
  readonly articles: SquadArticle[];
}

/** run_squad's whitespace: space, \t, \r, \n and U+202F NARROW NO-BREAK SPACE. */
export function isSquadWhitespace(c: string): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n" || c === "\u202F";
}

/**
 * Parses SQuAD JSON text.
 *
 * @param text The file contents.
 * @param file File name used in error messages.
 * @throws {DataFormatError} naming the file and the JSON path (e.g.
 * `data[3].paragraphs[0].qas[2]`) of the first malformed entry.
 */
export function parseSquad(text: string, file: string): SquadDataset {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(
      file,
      0,
      `it is not valid JSON (${(e as Error).message})`,
    );
  }
  const at = new JsonReader(file);
  const version = at.optional(root, "version", "string", "") ?? "";
  const examples: SquadExample[] = [];
  const articles: SquadArticle[] = [];
  at.array(root, "data", "").forEach((article, a) => {
    const firstExample = examples.length;
    at.array(article, "paragraphs", `data[${a}]`).forEach((paragraph, p) => {
      const path = `data[${a}].paragraphs[${p}]`;
      const context = at.field(paragraph, "context", "string", path);
      const words = splitContext(context);
      at.array(paragraph, "qas", path).forEach((qa, q) => {
        examples.push(
          readQuestion(at, qa, `${path}.qas[${q}]`, context, words),
        );
      });
    });
    articles.push({
      title: at.optional(article, "title", "string", `data[${a}]`) ?? "",
      firstExample,
      exampleCount: examples.length - firstExample,
    });
  });
  return { version, examples, articles };
}

function readQuestion(
  at: JsonReader,
  qa: unknown,
  path: string,
  context: string,
  words: ContextWords,
): SquadExample {
  const isImpossible = at.optional(qa, "is_impossible", "boolean", path) ??
    false;
  const answers = at.array(qa, "answers", path).map(
    (answer, i): SquadAnswer => {
      const answerPath = `${path}.answers[${i}]`;
      const text = at.field(answer, "text", "string", answerPath);
      const start = at.field(answer, "answer_start", "number", answerPath);
      const length = [...text].length;
      if (
        !Number.isInteger(start) || start < 0 ||
        start + length > words.charToWord.length
      ) {
        throw new DataFormatError(
          at.file,
          0,
          `${answerPath} has answer_start ${start}, but an answer of ${length} characters must start in [0, ${
            words.charToWord.length - length
          }]`,
          "Fix the offset (it counts Unicode code points) or remove the answer.",
        );
      }
      return { text, start };
    },
  );
  return {
    id: at.field(qa, "id", "string", path),
    question: at.field(qa, "question", "string", path),
    context,
    docTokens: words.tokens,
    answers,
    isImpossible,
    answerSpan: isImpossible || answers.length === 0
      ? null
      : locate(answers[0], words),
  };
}

interface ContextWords {
  readonly tokens: string[];
  /** For each code point of the context, the index of the word it is in or follows. */
  readonly charToWord: number[];
}

function splitContext(context: string): ContextWords {
  const tokens: string[] = [];
  const charToWord: number[] = [];
  let previousWasSpace = true;
  for (const c of context) {
    if (isSquadWhitespace(c)) {
      previousWasSpace = true;
    } else {
      if (previousWasSpace) tokens.push(c);
      else tokens[tokens.length - 1] += c;
      previousWasSpace = false;
    }
    charToWord.push(tokens.length - 1);
  }
  return { tokens, charToWord };
}

function locate(
  answer: SquadAnswer,
  words: ContextWords,
): SquadAnswerSpan | null {
  const length = [...answer.text].length;
  if (length === 0) return null;
  const startWord = words.charToWord[answer.start];
  const endWord = words.charToWord[answer.start + length - 1];
  // As run_squad: the words must contain the whitespace-normalised answer,
  // otherwise the annotation is off and the example is not a usable target.
  const actual = words.tokens.slice(Math.max(startWord, 0), endWord + 1).join(
    " ",
  );
  const cleaned = answer.text.split(PYTHON_WHITESPACE_RUN).filter((w) =>
    w !== ""
  ).join(" ");
  return startWord >= 0 && actual.includes(cleaned)
    ? { startWord, endWord, text: answer.text }
    : null;
}

interface JsonTypes {
  string: string;
  number: number;
  boolean: boolean;
}

/** Reads typed fields out of untrusted JSON, naming the JSON path on failure. */
class JsonReader {
  constructor(readonly file: string) {}

  field<K extends keyof JsonTypes>(
    node: unknown,
    key: string,
    type: K,
    path: string,
  ): JsonTypes[K] {
    const value = this.optional(node, key, type, path);
    if (value === undefined) this.#fail(path, key, `a ${type}`, value);
    return value;
  }

  optional<K extends keyof JsonTypes>(
    node: unknown,
    key: string,
    type: K,
    path: string,
  ): JsonTypes[K] | undefined {
    const value = (node as Record<string, unknown> | null)?.[key];
    if (value !== undefined && typeof value !== type) {
      this.#fail(path, key, `a ${type}`, value);
    }
    return value as JsonTypes[K] | undefined;
  }

  array(node: unknown, key: string, path: string): unknown[] {
    const value = (node as Record<string, unknown> | null)?.[key];
    if (!Array.isArray(value)) this.#fail(path, key, "an array", value);
    return value;
  }

  #fail(path: string, key: string, expected: string, value: unknown): never {
    const where = path === "" ? key : `${path}.${key}`;
    const found = value === undefined
      ? "missing"
      : JSON.stringify(value).slice(0, 60);
    throw new DataFormatError(
      this.file,
      0,
      `${where} should be ${expected} but is ${found}`,
      "Check that the file is SQuAD v1.1 or v2.0 JSON.",
    );
  }
}
