/**
 * The runtime bundle runs unchanged in Deno, Node and a browser: the bundle
 * is built once, the smoke check runs in each environment, and the three
 * answers must be identical and equal the expected values. In each the
 * bundle also compiles a toy BERT's training step and trains it on the
 * WebAssembly engine (the loss must fall, the same everywhere). The browser is
 * headless Chromium, which must be installed (the test fails otherwise and
 * says how).
 */

import assert from "node:assert/strict";
import type { TrainingSmokeResult } from "../../runtime/training_smoke.ts";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleRuntime } from "../../src/bundle/bundle_runtime.ts";
import { findChromium, smokeInChromium } from "./_chromium.ts";

const VOCAB_PATH = new URL(
  "../../../shared/models/bert-base-uncased/vocab.txt",
  import.meta.url,
).pathname;

// Ids in bert-base-uncased's vocab.txt, as HF's Rust tokenizer (npm
// "tokenizers" 0.23.2, configured as bench/check_tokenizer.ts does) gives
// them for the same text.
const [CLS, SEP, PAD] = [101, 102, 0];
const TEXT_IDS = [7592, 1010, 14477, 20961, 3468, 2088, 999, 1746, 1799];
// The pair is 10 + 5 tokens with room for 12 - 3: a is cut to b's length
// first, then b loses the odd one out, as BERT's longest_first truncation
// does. What remains is "the quick brown fox jumps" and "it was not amused".
const PAIR_A = [1996, 4248, 2829, 4419, 14523];
const PAIR_B = [2009, 2001, 2025, 11770];
const PAIR_IDS = [CLS, ...PAIR_A, SEP, ...PAIR_B, SEP];
const PAIR_TYPES = [...Array(7).fill(0), ...Array(5).fill(1)];

const EXPECTED = {
  tokens: ["hello", ",", "una", "##ffa", "##ble", "world", "!", "中", "国"],
  single: {
    inputIds: [CLS, ...TEXT_IDS, SEP],
    tokenTypeIds: Array(11).fill(0),
  },
  pair: { inputIds: PAIR_IDS, tokenTypeIds: PAIR_TYPES },
  // "Hi." is [CLS] hi . [SEP], padded to the pair's 12 tokens.
  batch: {
    batchSize: 2,
    seqLength: 12,
    inputIds: [CLS, 7632, 1012, SEP, ...Array(8).fill(PAD), ...PAIR_IDS],
    tokenTypeIds: [...Array(12).fill(0), ...PAIR_TYPES],
    attentionMask: [
      ...Array(4).fill(1),
      ...Array(8).fill(0),
      ...Array(12).fill(1),
    ],
  },
};

// tp 3, tn 3, fp 1, fn 1: exact in binary floating point. The correlations
// are SciPy 1.17's pearsonr/spearmanr of the same arrays, which may differ
// from ours in the last bit.
const EXACT_METRICS = { accuracy: 0.75, f1: 0.75, mcc: 0.5 };
const SCIPY = { pearson: 0.9503074517009087, spearman: 0.9705882352941178 };

/** The training smoke ran on the engine alone and its loss fell. */
function assertTrains(answer: unknown): void {
  const { losses, fallbacks } = answer as TrainingSmokeResult;
  assert.equal(fallbacks, 0);
  assert.equal(losses.length, 8);
  assert.ok(losses[7] < losses[0] - 1e-4, `losses ${losses}`);
}

function assertExpected(answer: unknown): void {
  const { metrics, ...rest } = answer as {
    metrics: Record<string, number>;
  };
  const { pearson, spearman, ...exact } = metrics;
  assert.deepEqual(rest, EXPECTED);
  assert.deepEqual(exact, EXACT_METRICS);
  for (const [name, value] of Object.entries({ pearson, spearman })) {
    const want = SCIPY[name as keyof typeof SCIPY];
    assert.ok(
      Math.abs(value - want) <= 1e-12,
      `${name} is ${value}, SciPy says ${want}`,
    );
  }
}

async function smokeInDeno(bundlePath: string, vocab: string) {
  const { runSmoke, runTrainingSmoke } = await import(
    pathToFileURL(bundlePath).href
  );
  // Through JSON, like the answers of the other environments.
  return JSON.parse(
    JSON.stringify({
      result: runSmoke(vocab),
      training: await runTrainingSmoke(),
    }),
  );
}

async function smokeInNode(dir: string, bundlePath: string) {
  const script = join(dir, "smoke.mjs");
  await Deno.writeTextFile(
    script,
    `import { readFileSync } from "node:fs";
import { runSmoke, runTrainingSmoke } from ${
      JSON.stringify(pathToFileURL(bundlePath).href)
    };
const result = runSmoke(readFileSync(process.argv[2], "utf8"));
process.stdout.write(JSON.stringify({ result, training: await runTrainingSmoke() }));
`,
  );
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [script, VOCAB_PATH],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, `node failed:\n${decoder.decode(stderr)}`);
  return JSON.parse(decoder.decode(stdout));
}

Deno.test("the runtime bundle gives the same smoke answer in Deno, Node and Chromium", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-bundle-" });
  try {
    const bundle = await bundleRuntime();
    const bundlePath = join(dir, "runtime.mjs");
    await Deno.writeTextFile(bundlePath, bundle);
    const vocab = await Deno.readTextFile(VOCAB_PATH);
    const answers: Record<string, unknown> = {};
    const training: Record<string, unknown> = {};

    const answered = [
      await t.step("Deno", async () => {
        ({ result: answers.deno, training: training.deno } = await smokeInDeno(
          bundlePath,
          vocab,
        ));
        assertExpected(answers.deno);
        assertTrains(training.deno);
      }),
      await t.step("Node", async () => {
        ({ result: answers.node, training: training.node } = await smokeInNode(
          dir,
          bundlePath,
        ));
        assertExpected(answers.node);
        assertTrains(training.node);
      }),
      await t.step("Chromium", async () => {
        const chromium = await findChromium();
        ({ result: answers.chromium, training: training.chromium } =
          await smokeInChromium(chromium, bundle, vocab));
        assertExpected(answers.chromium);
        assertTrains(training.chromium);
      }),
    ];
    // A failed step has already failed the test; comparing its missing
    // answer would only repeat that.
    if (answered.every(Boolean)) {
      await t.step("identical in all three", () => {
        assert.deepEqual(answers.node, answers.deno);
        assert.deepEqual(answers.chromium, answers.deno);
        // Engines without relaxed SIMD (Node 20 by default) multiply and add
        // in two roundings where the others fuse them.
        const losses = (env: string) =>
          (training[env] as TrainingSmokeResult).losses;
        for (const env of ["node", "chromium"]) {
          losses(env).forEach((l, i) =>
            assert.ok(
              Math.abs(l - losses("deno")[i]) <= 1e-5,
              `${env} step ${i}: ${l} vs ${losses("deno")[i]}`,
            )
          );
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
