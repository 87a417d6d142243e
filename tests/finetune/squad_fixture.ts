/**
 * Fixtures for SQuAD fine-tuning tests: a synthetic SQuAD v1.1 file whose
 * question "who ?" is answered by the one name in a short paragraph that
 * also holds a place as a distractor, its 28-token vocabulary, and a
 * one-layer BERT over it.
 *
 * @module
 */

import { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import type { BertConfig } from "../../src/models/bert_builder.ts";
import { TINY_CONFIG } from "./tiny.ts";

const NAMES = ["anna", "bob", "carl", "dora", "emil", "fay"];
const PLACES = ["paris", "rome", "oslo", "lima", "kyiv"];
const FILLERS = ["went", "to", "with", "a", "dog", "one", "day", "and", "sang"];

/** vocab.txt of the synthetic set (specials first, as BERT's). */
export const SQUAD_VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "who",
  "where",
  "?",
  ...NAMES,
  ...PLACES,
  ...FILLERS,
].join("\n");

/** The tokenizer of {@link SQUAD_VOCAB}. */
export const squadTokenizer = () => BertTokenizer.fromVocabText(SQUAD_VOCAB);

/** A one-layer BERT over {@link SQUAD_VOCAB} with room for 32 positions. */
export const SQUAD_CONFIG: BertConfig = {
  ...TINY_CONFIG,
  vocab_size: SQUAD_VOCAB.split("\n").length,
  max_position_embeddings: 32,
};

/** A SQuAD question as the JSON file holds it. */
interface Qa {
  id: string;
  question: string;
  answers: { text: string; answer_start: number }[];
}

/** One paragraph with the given context and questions whose answers are found by search. */
export function paragraph(
  context: string,
  id: string,
  qas: { question: string; answer: string }[],
): { context: string; qas: Qa[] } {
  return {
    context,
    qas: qas.map((q, i) => ({
      id: `${id}-${i}`,
      question: q.question,
      answers: [{ text: q.answer, answer_start: context.indexOf(q.answer) }],
    })),
  };
}

/**
 * A SQuAD v1.1 JSON text of `articles` articles titled "article N", each of
 * `paragraphs` paragraphs with one "who ?" question, drawn from a seeded
 * stream. (A one-layer model learns "the name is the answer" in a few
 * steps; telling "who" from "where" would take it hundreds.)
 */
export function syntheticSquad(
  articles: number,
  paragraphs: number,
  seed = 1,
): string {
  let a = seed >>> 0;
  const pick = <T>(list: readonly T[]): T => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return list[a % list.length];
  };
  const data = Array.from({ length: articles }, (_, t) => ({
    title: `article ${t}`,
    paragraphs: Array.from({ length: paragraphs }, (_, p) => {
      const words = Array.from({ length: 7 }, () => pick(FILLERS));
      const [name, place] = [pick(NAMES), pick(PLACES)];
      words.splice(a % 4, 0, name);
      words.splice(4 + (a >>> 4) % 4, 0, place);
      return paragraph(words.join(" "), `a${t}p${p}`, [
        { question: "who ?", answer: name },
      ]);
    }),
  }));
  return JSON.stringify({ version: "1.1", data });
}
