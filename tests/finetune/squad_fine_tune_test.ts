import assert from "node:assert/strict";
import { evaluateSquadV1 } from "../../runtime/data/squad_eval.ts";
import { parseSquad } from "../../runtime/data/squad_examples.ts";
import type { EpochReport } from "../../src/finetune/fine_tune.ts";
import { spanBatch } from "../../src/finetune/squad_batches.ts";
import { evaluateSquad } from "../../src/finetune/squad_evaluate.ts";
import {
  prepareSquad,
  squadFineTune,
  type SquadFineTuneOptions,
} from "../../src/finetune/squad_fine_tune.ts";
import { splitByArticle } from "../../src/finetune/squad_split.ts";
import {
  SQUAD_CONFIG,
  squadTokenizer,
  syntheticSquad,
} from "./squad_fixture.ts";
import { initialTrainingState } from "../../src/training/state.ts";
import { tinyModel } from "./tiny.ts";

const OPTIONS: SquadFineTuneOptions = {
  epochs: 3,
  batch: 8,
  seq: 16,
  docStride: 8,
  maxQueryLength: 4,
  learningRate: 3e-3,
  warmupRatio: 0,
  weightDecay: 0,
  seed: 1,
};

Deno.test("span fine-tuning on synthetic SQuAD lowers the loss and answers held-out articles", async () => {
  const tokenizer = squadTokenizer();
  const split = splitByArticle(
    parseSquad(syntheticSquad(10, 8), "synthetic.json"),
    0.8,
  );
  const data = prepareSquad(
    split.train.examples,
    split.eval.examples,
    tokenizer,
    OPTIONS,
  );
  assert.equal(data.train.length, 64, "one window per question");
  assert.equal(data.eval.examples.length, 16);
  const result = await squadFineTune(
    tinyModel(3, SQUAD_CONFIG),
    data,
    tokenizer,
    OPTIONS,
  );
  assert.equal(result.losses.length, 24);
  const [first, , last] = result.history;
  assert.ok(
    last.trainLoss < 0.6 * first.trainLoss,
    `train loss ${first.trainLoss} → ${last.trainLoss}`,
  );
  assert.deepEqual(Object.keys(last.dev), ["exact_match", "f1"]);
  // The reported scores are the official formula on the returned answers.
  const official = evaluateSquadV1(split.eval.examples, result.predictions);
  assert.equal(official.missing, 0);
  assert.equal(last.dev.exact_match, official.exactMatch);
  assert.equal(last.dev.f1, official.f1);
  // The same pipeline scores the untrained model far lower.
  const program = result.program;
  const untrained = await evaluateSquad(
    () => program,
    initialTrainingState(program.gradients, OPTIONS.seed, program.params),
    data.eval,
    tokenizer.vocab,
    OPTIONS,
  );
  assert.ok(
    untrained.scores.exactMatch < 50 && last.dev.exact_match >= 90,
    `EM ${untrained.scores.exactMatch} untrained → ${last.dev.exact_match}`,
  );
  // The batches carry each window's target as the span head's labels.
  const batch = spanBatch(
    result.program.forward,
    data.train,
    [0, 1],
    OPTIONS.batch,
    [OPTIONS.seq],
    tokenizer.vocab.special.pad,
  );
  assert.equal(batch.rows, 2);
  assert.deepEqual(
    Array.from(batch.feeds.get("start_positions")!.data).slice(0, 3),
    [data.train[0], data.train[1], data.train[0]].map((f) => f.startPosition),
  );
  assert.equal(
    batch.tokens,
    data.train[0].inputIds.length + data.train[1].inputIds.length,
  );
});

Deno.test("a SQuAD run stopped mid-epoch and resumed from its state ends identical", async () => {
  const tokenizer = squadTokenizer();
  const split = splitByArticle(
    parseSquad(syntheticSquad(4, 8), "synthetic.json"),
    0.75,
  );
  const data = prepareSquad(
    split.train.examples,
    split.eval.examples,
    tokenizer,
    OPTIONS,
  );
  const imported = tinyModel(5, SQUAD_CONFIG);
  const options = { ...OPTIONS, epochs: 2, warmupRatio: 0.2 };
  const whole = await squadFineTune(imported, data, tokenizer, options);
  const killed = await squadFineTune(imported, data, tokenizer, options, {
    stopAfter: 5,
  });
  assert.equal(killed.history.length, 1, "stopped in epoch 2 of 3 steps each");
  const resumed = await squadFineTune(
    imported,
    data,
    tokenizer,
    options,
    {},
    killed.state,
  );
  assert.deepEqual([...killed.losses, ...resumed.losses], whole.losses);
  assert.deepEqual(resumed.predictions, whole.predictions);
  // trainLoss is left out: a resumed epoch averages only the steps it ran.
  const scores = (h: EpochReport) => [h.epoch, h.step, h.dev];
  assert.deepEqual(scores(resumed.history[0]), scores(whole.history[1]));
});
