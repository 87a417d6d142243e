import assert from "node:assert/strict";
import {
  DataFormatError,
  EncodeOptionsError,
} from "../../runtime/data/errors.ts";
import { readText } from "../../runtime/data/read_file.ts";
import {
  decodeSquad,
  finalText,
  type SquadLogits,
} from "../../runtime/data/squad_decode.ts";
import { evaluateSquadV1 } from "../../runtime/data/squad_eval.ts";
import {
  parseSquad,
  type SquadExample,
} from "../../runtime/data/squad_examples.ts";
import {
  type SquadFeature,
  squadFeatures,
} from "../../runtime/data/squad_features.ts";
import { bertTokenizer, DATA_DIR } from "./_shared.ts";

const tok = await bertTokenizer();
const dev = parseSquad(
  await readText(`${DATA_DIR}/squad-v1.1/dev-v1.1.json`),
  "dev-v1.1.json",
);

/** A one-paragraph SQuAD file; answers are located by searching the context. */
function squadJson(
  context: string,
  qas: { q: string; answers: string[]; impossible?: boolean }[],
): string {
  return JSON.stringify({
    version: "v2.0",
    data: [{
      title: "t",
      paragraphs: [{
        context,
        qas: qas.map((qa, i) => ({
          id: `q${i}`,
          question: qa.q,
          is_impossible: qa.impossible ?? false,
          answers: qa.answers.map((text) => ({
            text,
            answer_start: [...context.slice(0, context.indexOf(text))].length,
          })),
        })),
      }],
    }],
  });
}

/** Logits that put all mass on each feature's training target span. */
function oracleLogits(
  features: readonly SquadFeature[],
  length: number,
): SquadLogits[] {
  return features.map((f) => {
    const startLogits = new Float32Array(length),
      endLogits = new Float32Array(length);
    startLogits[f.startPosition ?? 0] = 10;
    endLogits[f.endPosition ?? 0] = 10;
    return { startLogits, endLogits };
  });
}

Deno.test("SQuAD v1.1 dev parses to the official counts", () => {
  assert.equal(dev.version, "1.1");
  assert.equal(dev.examples.length, 10570);
  assert.equal(dev.examples.reduce((n, e) => n + e.answers.length, 0), 34726);
  assert.equal(new Set(dev.examples.map((e) => e.context)).size, 2067);
  assert.ok(
    dev.examples.every((e) => e.answerSpan !== null && !e.isImpossible),
  );
});

Deno.test("gold answers score 100 EM / 100 F1 on SQuAD v1.1 dev", () => {
  const predictions = Object.fromEntries(
    dev.examples.map((e) => [e.id, e.answers[0].text]),
  );
  assert.deepEqual(evaluateSquadV1(dev.examples, predictions), {
    exactMatch: 100,
    f1: 100,
    total: 10570,
    missing: 0,
  });
  // The score can fail: dropping predictions lowers it.
  const partial = Object.fromEntries(
    Object.entries(predictions).slice(0, 5285),
  );
  assert.equal(evaluateSquadV1(dev.examples, partial).exactMatch, 50);
});

Deno.test("features → decode with oracle logits recovers SQuAD v1.1 dev answers", () => {
  const features = squadFeatures(dev.examples, tok);
  assert.equal(new Set(features.map((f) => f.exampleIndex)).size, 10570);
  assert.ok(features.every((f) => f.inputIds.length <= 384));
  const predictions = decodeSquad(
    dev.examples,
    features,
    oracleLogits(features, 384),
    tok.vocab,
  );
  const scores = evaluateSquadV1(
    dev.examples,
    Object.fromEntries(predictions.map((p) => [p.id, p.text])),
  );
  console.log(
    `oracle spans: EM ${scores.exactMatch.toFixed(2)}, F1 ${
      scores.f1.toFixed(2)
    } over ${features.length} features`,
  );
  // Not 100: WordPiece cannot isolate "8" inside "20–18", as in BERT's run_squad.
  assert.ok(
    scores.exactMatch > 99.5 && scores.f1 > 99.5,
    JSON.stringify(scores),
  );
});

Deno.test("answer offsets count code points, not UTF-16 units", () => {
  const { examples } = parseSquad(
    squadJson("😀 Big city: Paris, France.", [{
      q: "Where?",
      answers: ["Paris"],
    }]),
    "u",
  );
  assert.equal(examples[0].answers[0].start, 12);
  assert.deepEqual(examples[0].docTokens, [
    "😀",
    "Big",
    "city:",
    "Paris,",
    "France.",
  ]);
  assert.deepEqual(examples[0].answerSpan, {
    startWord: 3,
    endWord: 3,
    text: "Paris",
  });
});

Deno.test("windows slide by docStride and the answer is tightened to its tokens", () => {
  // Words that are one WordPiece each, so a one-token span is a whole word.
  const pool = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud"];
  const words = Array.from({ length: 120 }, (_, i) => pool[i % pool.length]);
  words[70] = "(1895-1943).";
  const json = squadJson(words.join(" "), [{
    q: "When was he born?",
    answers: ["1895"],
  }]);
  const { examples } = parseSquad(json, "synthetic");
  const features = squadFeatures(examples, tok, {
    maxSeqLength: 64,
    docStride: 32,
    maxQueryLength: 4,
  });
  const query = tok.tokenizeToIds("When was he born?").slice(0, 4);
  const docTokens = 64 - query.length - 3;
  const { cls, sep } = tok.vocab.special;
  features.forEach((f, w) => {
    assert.equal(f.windowIndex, w);
    assert.deepEqual(f.inputIds.slice(0, query.length + 2), [
      cls,
      ...query,
      sep,
    ]);
    assert.equal(f.inputIds.at(-1), sep);
    assert.deepEqual(
      f.tokenTypeIds,
      f.inputIds.map((_, i) => (i < query.length + 2 ? 0 : 1)),
    );
    assert.ok(f.inputIds.length <= 64);
    if (w < features.length - 1) {
      assert.equal(f.inputIds.length - query.length - 3, docTokens);
    }
  });
  // Each context token is "max context" in exactly one window.
  const owners = new Map<string, number>();
  for (const f of features) {
    f.maxContext.forEach((m, i) => {
      if (m) owners.set(`${f.windowIndex}:${i}`, 1);
    });
  }
  const contextTokens =
    examples[0].docTokens.flatMap((w) => tok.tokenizeToIds(w)).length;
  assert.equal(owners.size, contextTokens);
  const hits = features.filter((f) => f.startPosition! > 0);
  assert.ok(
    hits.length >= 1 && hits.length < features.length,
    "answer inside some windows only",
  );
  for (const f of hits) {
    assert.equal(f.startPosition, f.endPosition);
    assert.equal(tok.vocab.tokenOf(f.inputIds[f.startPosition!]), "1895");
    assert.equal(f.tokenToWord[f.startPosition!], 70);
  }
  assert.ok(features.filter((f) => f.startPosition === 0).length >= 1);
  const [prediction] = decodeSquad(
    examples,
    features,
    oracleLogits(features, 64),
    tok.vocab,
  );
  assert.equal(prediction.text, "1895");
  // A span starting where a window is not "max context" is ignored, even if
  // it scores higher there than a span in the window that owns the token.
  const [a, b] = features;
  const shared = a.tokenToWord.findIndex((w, i) => w >= 0 && !a.maxContext[i]);
  const word = a.tokenToWord[shared];
  const owned = b.tokenToWord.findIndex((w, i) =>
    w > word && b.maxContext[i] === 1
  );
  const logits = features.map((f) => ({
    startLogits: new Float32Array(f.inputIds.length),
    endLogits: new Float32Array(f.inputIds.length),
  }));
  logits[0].startLogits[shared] = logits[0].endLogits[shared] = 10;
  logits[1].startLogits[owned] = logits[1].endLogits[owned] = 5;
  const [picked] = decodeSquad(examples, features, logits, tok.vocab);
  assert.equal(picked.text, examples[0].docTokens[b.tokenToWord[owned]]);
  assert.throws(
    () =>
      squadFeatures(examples, tok, { maxSeqLength: 60, maxQueryLength: 64 }),
    EncodeOptionsError,
  );
});

Deno.test("finalText maps normalised tokens back onto the original text", () => {
  assert.equal(finalText("steve smith", "Steve Smith's"), "Steve Smith");
  assert.equal(finalText("cafe", "Café!"), "Café");
  // When the text cannot be found, the whole original span is kept.
  assert.equal(finalText("zebra", "Steve Smith's"), "Steve Smith's");
});

Deno.test("v2.0: null answers, impossible questions and the null threshold", () => {
  const json = squadJson("The sky is blue today.", [
    { q: "What colour?", answers: ["blue"] },
    { q: "Who painted it?", answers: [], impossible: true },
  ]);
  const { examples } = parseSquad(json, "v2");
  assert.equal(examples[1].isImpossible, true);
  assert.equal(examples[1].answerSpan, null);
  const features = squadFeatures(examples, tok);
  assert.deepEqual([features[1].startPosition, features[1].endPosition], [
    0,
    0,
  ]);
  const logits = oracleLogits(features, 32);
  const predictions = decodeSquad(examples, features, logits, tok.vocab, {
    version2: true,
  });
  assert.deepEqual(predictions.map((p) => p.text), ["blue", ""]);
  assert.ok(predictions[1].scoreDiff! > 0 && predictions[0].scoreDiff! < 0);
  assert.ok(predictions[1].nbest.some((c) => c.text === ""));
  const probabilitySum = predictions[0].nbest.reduce(
    (s, c) => s + c.probability,
    0,
  );
  assert.ok(Math.abs(probabilitySum - 1) < 1e-9);
  // A high threshold forces an answer even where the null span wins.
  const forced = decodeSquad(examples, features, logits, tok.vocab, {
    version2: true,
    nullScoreDiffThreshold: 100,
  });
  assert.notEqual(forced[1].text, "");
  // v1.1 decoding never answers "".
  assert.notEqual(
    decodeSquad(examples, features, logits, tok.vocab)[1].text,
    "",
  );
});

Deno.test("decode respects maxAnswerLength and n-best size", () => {
  const context = "alpha beta gamma delta epsilon zeta eta theta";
  const { examples } = parseSquad(
    squadJson(context, [{ q: "Which?", answers: ["alpha"] }]),
    "n",
  );
  const features = squadFeatures(examples, tok);
  const n = features[0].inputIds.length;
  const startLogits = new Float32Array(n), endLogits = new Float32Array(n);
  const first = features[0].tokenToWord.indexOf(0);
  startLogits[first] = 5;
  endLogits[n - 2] = 5; // last context token: a span longer than 3 tokens
  endLogits[first + 1] = 1;
  const [limited] = decodeSquad(
    examples,
    features,
    [{ startLogits, endLogits }],
    tok.vocab,
    { maxAnswerLength: 3 },
  );
  assert.equal(limited.text, "alpha beta");
  const [free] = decodeSquad(
    examples,
    features,
    [{ startLogits, endLogits }],
    tok.vocab,
  );
  assert.equal(free.text, context);
  // Equal logits on all 8 context tokens: 36 spans qualify, n-best keeps nBest.
  const flat = features[0].tokenToWord.map((w) => (w >= 0 ? 1 : -10));
  const uniform = [{ startLogits: flat, endLogits: flat }];
  // Ties keep position order (Python's stable sort): the first 4 starts and
  // ends, in loop order.
  assert.deepEqual(
    decodeSquad(examples, features, uniform, tok.vocab, { nBest: 4 })[0].nbest
      .map((c) => c.text),
    ["alpha", "alpha beta", "alpha beta gamma", "alpha beta gamma delta"],
  );
  assert.equal(
    decodeSquad(examples, features, uniform, tok.vocab)[0].nbest.length,
    20,
  );
});

Deno.test("malformed SQuAD files name the file and JSON path", () => {
  const expectBad = (text: string, pattern: RegExp) =>
    assert.throws(() => parseSquad(text, "bad.json"), (e: unknown) => {
      assert.ok(e instanceof DataFormatError);
      assert.equal(e.file, "bad.json");
      assert.match(e.message, pattern);
      return true;
    });
  expectBad("{", /bad\.json: it is not valid JSON/);
  expectBad(
    '{"data": [{"paragraphs": [{"context": "x", "qas": [{"question": "q", "answers": []}]}]}]}',
    /data\[0\]\.paragraphs\[0\]\.qas\[0\]\.id should be a string but is missing/,
  );
  expectBad(
    squadJson("short", [{ q: "q", answers: [] }]).replace(
      '"answers":[]',
      '"answers":[{"text":"longer","answer_start":2}]',
    ),
    /answers\[0\] has answer_start 2, but an answer of 6 characters must start in \[0, -1\]/,
  );
  expectBad('{"data": {}}', /data should be an array/);
});

Deno.test("examples list every gold answer and the parsed fields", () => {
  const first: SquadExample = dev.examples[0];
  assert.equal(first.id, "56be4db0acb8001400a502ec");
  assert.deepEqual(first.answers[0], { text: "Denver Broncos", start: 177 });
  assert.equal(
    first.question,
    "Which NFL team represented the AFC at Super Bowl 50?",
  );
  assert.deepEqual(first.answers.map((a) => a.text), [
    "Denver Broncos",
    "Denver Broncos",
    "Denver Broncos",
  ]);
  assert.deepEqual(
    first.docTokens.slice(
      first.answerSpan!.startWord,
      first.answerSpan!.endWord + 1,
    ),
    ["Denver", "Broncos"],
  );
});
