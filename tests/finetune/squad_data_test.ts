import assert from "node:assert/strict";
import { evaluateSquadV1 } from "../../runtime/data/squad_eval.ts";
import { parseSquad } from "../../runtime/data/squad_examples.ts";
import { squadFeatures } from "../../runtime/data/squad_features.ts";
import { goldChecks, scoreLogits } from "../../src/finetune/squad_evaluate.ts";
import {
  describeSplit,
  splitByArticle,
} from "../../src/finetune/squad_split.ts";
import { paragraph, squadTokenizer, syntheticSquad } from "./squad_fixture.ts";

const tok = squadTokenizer();

Deno.test("training windows target the answer tokens, or [CLS] where the answer is cut", () => {
  const words = [
    ..."went to a dog one day".split(" "),
    "anna",
    "bob",
    ..."and sang to a dog with a day one went and sang".split(" "),
  ];
  const context = words.join(" ");
  const json = JSON.stringify({
    version: "1.1",
    data: [{
      title: "t",
      paragraphs: [
        paragraph(context, "p", [{ question: "who ?", answer: "anna bob" }]),
      ],
    }],
  });
  const { examples } = parseSquad(json, "windows.json");
  // 12 tokens = [CLS] who ? [SEP] + 7 context tokens + [SEP]; stride 4.
  const features = squadFeatures(examples, tok, {
    maxSeqLength: 12,
    docStride: 4,
    maxQueryLength: 4,
  });
  assert.deepEqual(
    features.map((f) => f.tokenToWord[4]),
    [0, 4, 8, 12, 16],
    "windows start every 4 words",
  );
  assert.deepEqual(
    features.map((f) => [f.startPosition, f.endPosition]),
    // Window 0 holds "anna" (its last token) but not "bob": the answer
    // straddles the boundary, so the target is [CLS], as in run_squad.
    [[0, 0], [6, 7], [0, 0], [0, 0], [0, 0]],
  );
  const inside = features[1];
  assert.deepEqual(
    inside.inputIds.slice(6, 8).map((id) => tok.vocab.tokenOf(id)),
    ["anna", "bob"],
  );
  assert.equal(tok.vocab.tokenOf(features[0].inputIds[10]), "anna");
});

Deno.test("the split is by article, first articles train, and is recorded", () => {
  const dataset = parseSquad(syntheticSquad(5, 4), "five.json");
  assert.deepEqual(
    dataset.articles.map((a) => [a.title, a.firstExample, a.exampleCount]),
    [0, 1, 2, 3, 4].map((i) => [`article ${i}`, 4 * i, 4]),
  );
  const split = splitByArticle(dataset, 0.8);
  assert.deepEqual(
    split.train.articles,
    [0, 1, 2, 3].map((i) => `article ${i}`),
  );
  assert.deepEqual(split.eval.articles, ["article 4"]);
  assert.deepEqual(
    split.train.examples.map((e) => e.id),
    dataset.examples.slice(0, 16).map((e) => e.id),
  );
  assert.equal(split.eval.examples[0].id, "a4p0-0");
  assert.equal(
    describeSplit(split),
    "train: first 4 articles (16 questions); eval: last 1 articles (4 questions)",
  );
  // Each side keeps an article, whatever the fraction.
  assert.equal(splitByArticle(dataset, 0.99).eval.articles.length, 1);
  assert.equal(splitByArticle(dataset, 0.01).train.articles.length, 1);
  assert.throws(() => splitByArticle(dataset, 1), /must be in \(0, 1\)/);
  const single = parseSquad(syntheticSquad(1, 4), "one.json");
  assert.throws(() => splitByArticle(single, 0.5), /at least 2 articles/);
});

Deno.test("decoded answers are scored with the official EM/F1; gold answers score 100", () => {
  const json = JSON.stringify({
    version: "1.1",
    data: [{
      title: "t",
      paragraphs: [
        paragraph("one day anna went to rome", "p0", [
          { question: "who ?", answer: "anna" },
          { question: "where ?", answer: "rome" },
        ]),
        paragraph("a dog and bob went to oslo", "p1", [
          { question: "who ?", answer: "bob" },
          { question: "where ?", answer: "oslo" },
        ]),
      ],
    }],
  });
  const { examples } = parseSquad(json, "s.json");
  const set = { examples, features: squadFeatures(examples, tok) };
  const checks = goldChecks(set, tok.vocab);
  assert.deepEqual(
    [checks.goldAnswers.exactMatch, checks.goldAnswers.f1],
    [100, 100],
  );
  assert.deepEqual(
    [checks.oracleSpans.exactMatch, checks.oracleSpans.f1],
    [100, 100],
  );
  // Each span widened by the two words before the answer: "one day anna"
  // against "anna" is EM 0 and F1 2·(1/3·1)/(1/3 + 1) = 0.5.
  const logits = set.features.map((f) => {
    const startLogits = new Float32Array(f.inputIds.length);
    const endLogits = new Float32Array(f.inputIds.length);
    startLogits[f.startPosition! - 2] = 10;
    endLogits[f.endPosition!] = 10;
    return { startLogits, endLogits };
  });
  const { scores, predictions } = scoreLogits(set, logits, tok.vocab);
  assert.deepEqual(predictions, {
    "p0-0": "one day anna",
    "p0-1": "went to rome",
    "p1-0": "dog and bob",
    "p1-1": "went to oslo",
  });
  assert.equal(scores.exactMatch, 0);
  assert.ok(Math.abs(scores.f1 - 50) < 1e-9, `F1 ${scores.f1}`);
  assert.deepEqual(scores, evaluateSquadV1(examples, predictions));
});
