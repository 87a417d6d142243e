/**
 * A tiny BERT's training step with dropout on the WASM engine against the
 * reference executor: the engine runs DropoutTrain and DropoutGrad with its
 * own kernels (no fallback) and draws bit-identical masks, step by step.
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { execute } from "../../src/executor/execute.ts";
import { withParts } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { nextName, STEP_INPUT } from "../../src/passes/optimizer.ts";
import { compileTraining } from "../../src/passes/training_pipeline.ts";
import { initialTrainingState } from "../../src/training/state.ts";
import { tinyModel } from "../finetune/tiny.ts";

const BATCH = 2;
const SEQ = 8;
const SEED = 5;

const program = compileTraining(tinyModel(3), {
  batch: BATCH,
  seq: SEQ,
  head: "classification:2",
  seed: SEED,
  lr: 1e-3,
  totalSteps: 10,
  dropout: { hidden: 0.1, attention: 0.2 },
});
const dropouts = program.step.nodes.filter((n) => n.op === "DropoutTrain");
const masks = dropouts.map((n) => n.outputs[1]);
// The masks as outputs too, so both executors' draws can be compared.
const graph = withParts(program.step, {
  outputs: [...program.step.outputs, ...masks],
});

const BATCH_FEEDS = new Map<string, Tensor>([
  [
    "input_ids",
    tensor("i64", [BATCH, SEQ], [
      ...[2, 11, 17, 23, 5, 40, 3, 0],
      ...[2, 8, 31, 12, 3, 19, 7, 3],
    ]),
  ],
  ["attention_mask", tensor("i64", [BATCH, SEQ], [...Array(15).fill(1), 0])],
  ["token_type_ids", tensor("i64", [BATCH, SEQ], Array(16).fill(0))],
  ["labels", tensor("i64", [BATCH], [1, 0])],
]);

Deno.test("engine step with dropout: reference masks and losses, no fallback", async () => {
  // 1 embeddings, 1 attention, 2 residual (one layer) and the pooled output.
  assert.equal(dropouts.length, 5);
  assert.equal(
    program.step.nodes.filter((n) => n.op === "DropoutGrad").length,
    5,
  );
  const engine = await Engine.create(graph);
  assert.deepEqual(engine.fallbacks(), []);
  let state = initialTrainingState(program.gradients, SEED, program.params)
    .tensors;
  const drawn: Tensor[] = [];
  for (let step = 0; step < 3; step++) {
    const feeds = new Map([
      ...BATCH_FEEDS,
      ...state,
      [STEP_INPUT, tensor("i64", [], [step])],
    ]);
    const want = execute(graph, feeds);
    const got = engine.run(feeds);
    const [a, b] = [got.get("loss")!.data[0], want.get("loss")!.data[0]];
    assert.ok(
      Math.abs(a - b) <= 1e-5 * Math.abs(b),
      `step ${step}: ${a} vs ${b}`,
    );
    for (const m of masks) {
      assert.deepEqual(got.get(m)!.data, want.get(m)!.data, `${m} at ${step}`);
    }
    drawn.push(want.get(masks[1])!);
    state = new Map(
      [...state.keys()].map((n) => [n, want.get(nextName(n))!]),
    );
  }
  // Each step draws new masks.
  assert.notDeepEqual(drawn[0].data, drawn[1].data);
  assert.notDeepEqual(drawn[1].data, drawn[2].data);
});
