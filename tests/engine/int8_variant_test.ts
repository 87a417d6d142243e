/**
 * The int8 GEMM variants (`dot16`, `relaxed`, and `relaxed8` where this
 * engine's relaxed dot is exact for it) compute the same integers, so a
 * whole int8-a2 training step — forward, dX, dW, Approach 2's side stream
 * with a planted outlier channel — comes out bit for bit the same on each;
 * and a variant the engine cannot run exactly is refused with a clear error.
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import {
  type GemmVariant,
  hasUnsignedRelaxedDot,
  runsOnThisEngine,
} from "../../src/codegen/gemm/mod.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { compileTraining } from "../../src/passes/training_pipeline.ts";
import { parseRecipe } from "../../src/recipes/mod.ts";
import { initialTrainingState } from "../../src/training/state.ts";
import { tinyModel } from "../finetune/tiny.ts";

const [BATCH, SEQ] = [2, 16];

const program = compileTraining(tinyModel(3), {
  batch: BATCH,
  seq: SEQ,
  head: "classification:2",
  lr: 1e-3,
  totalSteps: 10,
  recipe: parseRecipe("int8-a2"),
});

function feeds(step: number): Map<string, Tensor> {
  const ids = Array.from({ length: BATCH * SEQ }, (_, i) => (i * 5 + 1) % 44);
  return new Map([
    ["input_ids", tensor("i64", [BATCH, SEQ], ids)],
    ["attention_mask", tensor("i64", [BATCH, SEQ], ids.map(() => 1))],
    ["token_type_ids", tensor("i64", [BATCH, SEQ], ids.map(() => 0))],
    [program.labels[0], tensor("i64", [BATCH], [1, 0])],
    ["step", tensor("i64", [], [step])],
  ]);
}

function resident(): Map<string, Tensor> {
  const state = initialTrainingState(program.gradients, 1, program.params);
  // An outlier channel, so Approach 2's side product has rows to add.
  const ln = "bert.embeddings.LayerNorm.weight";
  const scaled = Float32Array.from(state.tensors.get(ln)!.data);
  scaled[5] = 40;
  return new Map(state.tensors).set(ln, {
    ...state.tensors.get(ln)!,
    data: scaled,
  });
}

Deno.test("every int8 GEMM variant this engine runs gives the same training steps bit for bit", async () => {
  const variants = (["dot16", "relaxed", "relaxed8"] as GemmVariant[]).filter(
    (variant) =>
      runsOnThisEngine({
        family: "s8s8",
        variant,
        mr: 3,
        nr: 12,
        output: "f32",
      }),
  );
  assert.ok(variants.length >= 2, `only ${variants} run here`);
  const runs = await Promise.all(variants.map(async (int8) => {
    const engine = await Engine.create(program.step, {
      resident: resident(),
      int8,
    });
    assert.deepEqual(engine.fallbacks(), [], int8);
    return [0, 1, 2].map((step) => engine.run(feeds(step)));
  }));
  for (let v = 1; v < variants.length; v++) {
    runs[v].forEach((outputs, step) => {
      for (const [name, t] of runs[0][step]) {
        assert.deepEqual(
          outputs.get(name)!.data,
          t.data,
          `${name} at step ${step}: ${variants[v]} vs ${variants[0]}`,
        );
      }
    });
  }
});

Deno.test("an int8 variant that is not an int8 GEMM, or not exact here, is refused", async () => {
  await assert.rejects(
    () => Engine.create(program.step, { resident: resident(), int8: "madd" }),
    /int8 must be one of dot16, relaxed, relaxed8; got 'madd'/,
  );
  if (!hasUnsignedRelaxedDot()) {
    await assert.rejects(
      () =>
        Engine.create(program.step, { resident: resident(), int8: "relaxed8" }),
      /'relaxed8' is not exact on this WebAssembly engine/,
    );
  }
});
