/**
 * The official SQuAD evaluation: answer normalisation, exact match and
 * token F1 as in `evaluate-v1.1.py` and `evaluate-v2.0.py`, including v2.0's
 * "no answer" threshold search.
 *
 * @module
 */

import { PYTHON_WHITESPACE_RUN } from "./basic_tokenizer.ts";
import type { SquadExample } from "./squad_examples.ts";

// Python's `string.punctuation`: ASCII only, so "–" or "’" are kept.
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// Python's `\b(a|an|the)\b` on str: word characters are Unicode letters,
// digits and "_", which JS `\b` does not know, hence the lookarounds.
const ARTICLES = /(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu;

/** Lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  return words(
    s.toLowerCase().replace(ASCII_PUNCTUATION, "").replace(ARTICLES, " "),
  ).join(" ");
}

/** 1 if the normalised strings are equal, else 0. */
export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * Token-overlap F1 of normalised answers (v1.1). With `emptyAgrees` (v2.0),
 * an empty side scores 1 if both are empty and 0 otherwise.
 */
export function f1Score(
  prediction: string,
  gold: string,
  emptyAgrees = false,
): number {
  const p = words(normalizeAnswer(prediction));
  const g = words(normalizeAnswer(gold));
  if (emptyAgrees && (p.length === 0 || g.length === 0)) {
    return p.length === g.length ? 1 : 0;
  }
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const left = counts.get(t) ?? 0;
    if (left > 0) {
      same++;
      counts.set(t, left - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length, recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** SQuAD scores in percent. */
export interface SquadScores {
  /** Exact match, 0–100. */
  readonly exactMatch: number;
  /** Mean F1, 0–100. */
  readonly f1: number;
  /** Questions scored. */
  readonly total: number;
  /** Questions that had no prediction. */
  readonly missing: number;
}

/**
 * evaluate-v1.1: each question scores the best EM and F1 over its gold
 * answers; a question without prediction scores 0 and still counts.
 *
 * @param predictions Question id → predicted answer text.
 */
export function evaluateSquadV1(
  examples: readonly SquadExample[],
  predictions: Readonly<Record<string, string>>,
): SquadScores {
  let em = 0, f1 = 0, missing = 0;
  for (const ex of examples) {
    const prediction = predictions[ex.id];
    if (prediction === undefined) {
      missing++;
      continue;
    }
    const golds = ex.answers.map((a) => a.text);
    em += Math.max(0, ...golds.map((g) => exactMatch(prediction, g)));
    f1 += Math.max(0, ...golds.map((g) => f1Score(prediction, g)));
  }
  const n = examples.length;
  return { exactMatch: (100 * em) / n, f1: (100 * f1) / n, total: n, missing };
}

/** evaluate-v2.0's report. */
export interface SquadV2Scores extends SquadScores {
  /** Scores over questions with gold answers (undefined if there are none). */
  readonly hasAnswer?: SquadScores;
  /** Scores over unanswerable questions only (undefined if there are none). */
  readonly noAnswer?: SquadScores;
}

/**
 * evaluate-v2.0: an unanswerable question's only gold answer is "", gold
 * answers that normalise to "" are ignored, and questions without prediction
 * are left out of the average (the official script skips them too).
 *
 * @param predictions Question id → answer ("" = no answer).
 * @param noAnswerProbs Optional question id → no-answer probability or score.
 * @param noAnswerThreshold Answer "" where noAnswerProbs exceeds this. Default 1.
 */
export function evaluateSquadV2(
  examples: readonly SquadExample[],
  predictions: Readonly<Record<string, string>>,
  noAnswerProbs: Readonly<Record<string, number>> = {},
  noAnswerThreshold = 1,
): SquadV2Scores {
  const scored = v2RawScores(examples, predictions);
  const thresholded = scored.map((s) =>
    (noAnswerProbs[s.id] ?? 0) > noAnswerThreshold
      ? { ...s, em: s.hasAnswer ? 0 : 1, f1: s.hasAnswer ? 0 : 1 }
      : s
  );
  const missing = examples.length - scored.length;
  const summary = (list: readonly V2Score[]): SquadScores => ({
    exactMatch: (100 * list.reduce((a, s) => a + s.em, 0)) / list.length,
    f1: (100 * list.reduce((a, s) => a + s.f1, 0)) / list.length,
    total: list.length,
    missing,
  });
  const has = thresholded.filter((s) => s.hasAnswer);
  const none = thresholded.filter((s) => !s.hasAnswer);
  return {
    ...summary(thresholded),
    ...(has.length > 0 ? { hasAnswer: summary(has) } : {}),
    ...(none.length > 0 ? { noAnswer: summary(none) } : {}),
  };
}

/**
 * evaluate-v2.0's `find_best_thresh`: the no-answer threshold that maximises
 * the metric when every question whose score exceeds it is answered "".
 *
 * @param noAnswerScores Question id → score, e.g. `scoreDiff` from decodeSquad;
 * questions without a score are never switched to "".
 * @returns The best achievable EM and F1 (percent) and the thresholds reaching them.
 */
export function bestNoAnswerThreshold(
  examples: readonly SquadExample[],
  predictions: Readonly<Record<string, string>>,
  noAnswerScores: Readonly<Record<string, number>>,
): {
  exactMatch: number;
  exactMatchThreshold: number;
  f1: number;
  f1Threshold: number;
} {
  const scored = v2RawScores(examples, predictions);
  const unanswerable = examples.filter((e) => e.answers.length === 0).length;
  const order = scored
    .filter((s) => noAnswerScores[s.id] !== undefined)
    .sort((a, b) => noAnswerScores[a.id] - noAnswerScores[b.id]);
  const search = (metric: "em" | "f1"): [number, number] => {
    // Start from "answer nothing", then admit questions by rising score.
    let current = unanswerable;
    let best = current, threshold = 0;
    for (const s of order) {
      if (s.hasAnswer) current += s[metric];
      else current += s.predicted === "" ? 0 : -1;
      if (current > best) {
        best = current;
        threshold = noAnswerScores[s.id];
      }
    }
    return [(100 * best) / scored.length, threshold];
  };
  const [exactMatch, exactMatchThreshold] = search("em");
  const [f1, f1Threshold] = search("f1");
  return { exactMatch, exactMatchThreshold, f1, f1Threshold };
}

interface V2Score {
  readonly id: string;
  readonly hasAnswer: boolean;
  readonly predicted: string;
  readonly em: number;
  readonly f1: number;
}

function v2RawScores(
  examples: readonly SquadExample[],
  predictions: Readonly<Record<string, string>>,
): V2Score[] {
  const scores: V2Score[] = [];
  for (const ex of examples) {
    const predicted = predictions[ex.id];
    if (predicted === undefined) continue;
    const real = ex.answers.map((a) => a.text).filter((t) =>
      normalizeAnswer(t) !== ""
    );
    const golds = real.length > 0 ? real : [""];
    scores.push({
      id: ex.id,
      hasAnswer: ex.answers.length > 0,
      predicted,
      em: Math.max(...golds.map((g) => exactMatch(predicted, g))),
      f1: Math.max(...golds.map((g) => f1Score(predicted, g, true))),
    });
  }
  return scores;
}

function words(s: string): string[] {
  return s.split(PYTHON_WHITESPACE_RUN).filter((w) => w !== "");
}
