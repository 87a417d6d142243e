import assert from "node:assert/strict";
import {
  bestNoAnswerThreshold,
  evaluateSquadV1,
  evaluateSquadV2,
  exactMatch,
  f1Score,
  normalizeAnswer,
} from "../../runtime/data/squad_eval.ts";
import type { SquadExample } from "../../runtime/data/squad_examples.ts";

Deno.test("normalisation: lower, ASCII punctuation, articles, whitespace", () => {
  assert.equal(normalizeAnswer("  The Quick,  brown-fox!\n"), "quick brownfox");
  assert.equal(
    normalizeAnswer("Anna and an apple, a theme"),
    "anna and apple theme",
  );
  // Unicode punctuation is not in Python's string.punctuation.
  assert.equal(normalizeAnswer("“Yes” – no"), "“yes” – no");
  // \b is Unicode-aware in Python: "an" after "é" or "²" is inside a word,
  // but a combining mark is no word character. "_" is punctuation, so
  // "the_a" becomes "thea". (Expected values printed by the official code.)
  assert.equal(normalizeAnswer("éan the_a a1"), "éan thea a1");
  assert.equal(normalizeAnswer("x\u00b2an \u216Ban"), "x\u00b2an \u217Ban");
  assert.equal(normalizeAnswer("a\u0301 b"), "\u0301 b");
  // Removing punctuation can expose an article: "the." → "the" → "".
  assert.equal(normalizeAnswer("the."), "");
});

Deno.test("exact match and token F1 against hand-computed values", () => {
  assert.equal(exactMatch("The Cat.", "cat"), 1);
  assert.equal(exactMatch("cats", "cat"), 0);
  assert.equal(f1Score("the cat sat on mat", "a cat sat on the mat"), 1);
  // 2 common of 2 predicted and 4 gold: P = 1, R = 0.5.
  assert.equal(f1Score("cat sat", "cat sat on mat"), 2 / 3);
  // Counts are clipped: x and y once each in common.
  assert.equal(f1Score("x x y", "x y y"), 2 / 3);
  assert.equal(f1Score("dog", "cat"), 0);
  assert.equal(f1Score("", ""), 0);
  assert.equal(f1Score("", "", true), 1);
  assert.equal(f1Score("x", "the", true), 0);
});

function example(id: string, answers: string[]): SquadExample {
  return {
    id,
    question: "?",
    context: "",
    docTokens: [],
    answers: answers.map((text) => ({ text, start: 0 })),
    isImpossible: answers.length === 0,
    answerSpan: null,
  };
}

const V1 = [
  example("a", ["Paris", "in Paris"]),
  example("b", ["1895"]),
  example("c", ["red fox"]),
];

Deno.test("v1.1 takes the best gold answer and counts missing predictions as 0", () => {
  const scores = evaluateSquadV1(V1, { a: "in paris!", b: "1896", c: "fox" });
  assert.equal(scores.exactMatch, 100 / 3);
  assert.equal(scores.f1, (100 * (1 + 0 + 2 / 3)) / 3);
  assert.deepEqual(evaluateSquadV1(V1, { a: "Paris" }), {
    exactMatch: 100 / 3,
    f1: 100 / 3,
    total: 3,
    missing: 2,
  });
});

const V2 = [
  example("a", ["Paris"]),
  example("b", ["red fox"]),
  example("n1", []),
  example("n2", []),
];

Deno.test("v2.0 scores no-answer questions by an empty prediction", () => {
  const scores = evaluateSquadV2(V2, {
    a: "Paris",
    b: "fox",
    n1: "",
    n2: "London",
  });
  assert.equal(scores.exactMatch, 50);
  assert.equal(scores.f1, (100 * (1 + 2 / 3 + 1 + 0)) / 4);
  assert.deepEqual(scores.hasAnswer, {
    exactMatch: 50,
    f1: (100 * (1 + 2 / 3)) / 2,
    total: 2,
    missing: 0,
  });
  assert.deepEqual(scores.noAnswer, {
    exactMatch: 50,
    f1: 50,
    total: 2,
    missing: 0,
  });
  // Questions without prediction are left out of the average.
  assert.equal(evaluateSquadV2(V2, { a: "Paris" }).exactMatch, 100);
  // A no-answer probability above the threshold turns the answer into "".
  const thresholded = evaluateSquadV2(
    V2,
    { a: "Paris", b: "fox", n1: "", n2: "London" },
    { n2: 0.9, a: 0.9 },
    0.5,
  );
  assert.equal(thresholded.exactMatch, 50);
  assert.deepEqual(thresholded.noAnswer?.exactMatch, 100);
});

Deno.test("v2.0 best threshold search matches a hand-walked example", () => {
  const predictions = { a: "Paris", b: "fox", n1: "", n2: "London" };
  // Admitted in score order a(-2), n2(-1), b(0.5), n1(3): EM runs 2 → 3 → 2 → 2 → 2.
  const best = bestNoAnswerThreshold(V2, predictions, {
    a: -2,
    n2: -1,
    b: 0.5,
    n1: 3,
  });
  assert.equal(best.exactMatch, 75);
  assert.equal(best.exactMatchThreshold, -2);
  // F1 runs 2 → 3 → 2 → 2.667 → 2.667: still best after a.
  assert.equal(best.f1, 75);
  assert.equal(best.f1Threshold, -2);
});
