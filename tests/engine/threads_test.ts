/**
 * Two threads inside the engine: every GEMM call's row tiles, and the
 * ranges of the split kernels (GELU, softmax, LayerNorm, AdamW), are shared
 * between this thread and a worker on the shared memory, and a training
 * step must come out bit for bit as on one thread — f32 products, int8
 * products with Approach 2's side stream, forward and backward.
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { canUseThreads } from "../../src/codegen/gemm/mod.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { compileTraining } from "../../src/passes/training_pipeline.ts";
import { parseRecipe } from "../../src/recipes/mod.ts";
import { initialTrainingState } from "../../src/training/state.ts";
import { TINY_CONFIG, tinyModel } from "../finetune/tiny.ts";

// 128 rows and hidden 128, so the FFN products are large enough to split.
const [BATCH, SEQ] = [4, 32];
const CONFIG = {
  ...TINY_CONFIG,
  hidden_size: 128,
  intermediate_size: 512,
  max_position_embeddings: SEQ,
};

function program(recipe: string) {
  return compileTraining(tinyModel(3, CONFIG), {
    batch: BATCH,
    seq: SEQ,
    head: "classification:2",
    lr: 1e-3,
    totalSteps: 10,
    recipe: parseRecipe(recipe),
  });
}

function feeds(labels: string, step: number): Map<string, Tensor> {
  const ids = Array.from({ length: BATCH * SEQ }, (_, i) => (i * 7 + 3) % 44);
  const mask = ids.map((_, i) => i % SEQ < SEQ - (i % 3) ? 1 : 0);
  return new Map([
    ["input_ids", tensor("i64", [BATCH, SEQ], ids)],
    ["attention_mask", tensor("i64", [BATCH, SEQ], mask)],
    ["token_type_ids", tensor("i64", [BATCH, SEQ], ids.map(() => 0))],
    [labels, tensor("i64", [BATCH], [1, 0, 0, 1])],
    ["step", tensor("i64", [], [step])],
  ]);
}

for (const recipe of ["fp32", "int8-a2"]) {
  Deno.test(`${recipe}: three training steps on two threads equal one thread bit for bit`, async () => {
    assert.ok(canUseThreads(), "Deno has shared memory and workers");
    const p = program(recipe);
    const state = initialTrainingState(p.gradients, 1, p.params).tensors;
    // An outlier channel, so Approach 2's side product has rows to add.
    const ln = "bert.embeddings.LayerNorm.weight";
    const scaled = Float32Array.from(state.get(ln)!.data);
    scaled[5] = 40;
    const resident = new Map(state).set(ln, {
      ...state.get(ln)!,
      data: scaled,
    });
    const one = await Engine.create(p.step, { resident });
    using two = await Engine.create(p.step, { resident, threads: 2 });
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    assert.ok(two.memory.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(two.fallbacks(), []);
    for (let step = 0; step < 3; step++) {
      const a = one.run(feeds(p.labels[0], step));
      const b = two.run(feeds(p.labels[0], step));
      for (const [name, t] of a) {
        assert.deepEqual(b.get(name)!.data, t.data, `${name} at step ${step}`);
      }
    }
    assert.ok(two.splitGemmCalls > 0, "no GEMM was split");
    assert.ok(two.splitKernelCalls > 0, "no other kernel was split");
    assert.equal(one.splitGemmCalls, 0);
    assert.equal(one.splitKernelCalls, 0);
  });
}

Deno.test("an engine refuses a thread count outside 1–4, and runs on after close", async () => {
  const p = program("fp32");
  await assert.rejects(
    () => Engine.create(p.evaluation, { threads: 0 }),
    /threads must be an integer in \[1, 4\], got 0/,
  );
  const engine = await Engine.create(p.evaluation, { threads: 2 });
  const batch = feeds(p.labels[0], 0);
  const before = engine.run(batch).get(p.evaluation.outputs[0])!;
  engine.close();
  assert.equal(engine.threads, 2);
  const after = engine.run(batch).get(p.evaluation.outputs[0])!;
  assert.deepEqual(after.data, before.data);
});
