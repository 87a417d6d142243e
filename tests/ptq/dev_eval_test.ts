/**
 * Scoring a graph on a GLUE split (src/ptq/dev_eval.ts): length-sorted
 * batches and the metric of the logits.
 *
 * @module
 */

import assert from "node:assert/strict";
import { tensor } from "../../src/ir/tensor.ts";
import { makeGraph } from "../../src/ir/graph.ts";
import type { Runner } from "../../src/ptq/calibrate.ts";
import { lengthSortedBatches, scoreSplit } from "../../src/ptq/dev_eval.ts";
import { PtqError } from "../../src/ptq/params.ts";
import { tinySet } from "../finetune/tiny.ts";

Deno.test("length-sorted batches: one shape per length, every row once", async () => {
  const { tokenizer, dev } = await tinySet(0, 40);
  const batches = lengthSortedBatches(dev, tokenizer, 16, 128);
  assert.equal(batches.length, Math.ceil(dev.length / 16));
  const seen = batches.flatMap((b) => b.rows).sort((a, b) => a - b);
  assert.deepEqual(seen, dev.map((_, i) => i));
  for (const { batch } of batches) {
    assert.equal(batch.batchSize, 16);
    assert.equal(batch.seqLength % 16, 0);
  }
  const fixed = lengthSortedBatches(dev, tokenizer, 16, 64, true);
  assert.ok(fixed.every((b) => b.batch.seqLength === 64));
  assert.throws(
    () => lengthSortedBatches(dev, tokenizer, 0),
    (e: Error) => e instanceof PtqError && /batch size/.test(e.message),
  );
});

Deno.test("score: predictions follow the logits, back in input order", async () => {
  const { tokenizer, dev } = await tinySet(0, 37);
  const batches = lengthSortedBatches(dev, tokenizer, 8, 128);
  const graph = makeGraph({
    name: "g",
    inputs: ["input_ids"],
    outputs: ["logits"],
    constants: [],
    nodes: [],
    types: [["input_ids", { dtype: "i64", shape: [8, 16] }]],
  });
  // A fake model that knows the labels: the row's example decides its logits.
  let k = 0;
  const oracle: Runner = () => {
    const { rows } = batches[k++];
    const data = Array.from({ length: 16 }, (_, i) => {
      const example = rows[i >> 1];
      const label = example === undefined ? 0 : dev[example].label!;
      return (i & 1) === label ? 1 : 0;
    });
    return Promise.resolve(new Map([["logits", tensor("f32", [8, 2], data)]]));
  };
  const progress: number[] = [];
  const score = await scoreSplit(
    "SST-2",
    dev,
    batches,
    () => graph,
    oracle,
    (done) => progress.push(done),
  );
  assert.equal(score.metrics.accuracy, 1);
  assert.deepEqual(score.predictions, dev.map((e) => e.label));
  assert.equal(progress.length, batches.length);
  const unlabelled = dev.map(({ label: _, ...e }) => e);
  k = 0;
  await assert.rejects(
    () => scoreSplit("SST-2", unlabelled, batches, () => graph, oracle),
    (e: Error) => e instanceof PtqError && /no label/.test(e.message),
  );
});
