/**
 * The quantising recipes on the engine, on a one-layer BERT: no node falls
 * back to the reference, 8-bit products run as integer GEMMs, every
 * quantiser and integer product equals the reference operators bit for bit
 * (teacher-forced, see `quantize_check.ts`, with planted outliers so the
 * side streams — and Approach 2's int16 k path — carry data), and two
 * training steps agree with the reference trainer.
 *
 * Tolerances of the free-running steps: the float layers (LayerNorm,
 * softmax, attention products) run in f32 on the engine and in f64 in the
 * reference, so losses agree within 1e-6 relative, and updated weights
 * within 1e-2 of the learning rate (the convention of `training_test.ts`).
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import {
  compileTraining,
  type TrainingProgram,
} from "../../src/passes/training_pipeline.ts";
import { parseRecipe } from "../../src/recipes/mod.ts";
import { trainStep } from "../../src/training/reference_trainer.ts";
import {
  initialTrainingState,
  type TrainingState,
} from "../../src/training/state.ts";
import { tinyModel } from "../finetune/tiny.ts";
import { relativeError } from "./helpers.ts";
import { teacherForced } from "./quantize_check.ts";

const [BATCH, SEQ] = [2, 8];
const imported = tinyModel(3);

function compile(recipe: string): TrainingProgram {
  return compileTraining(imported, {
    batch: BATCH,
    seq: SEQ,
    head: "classification:2",
    lr: 1e-3,
    totalSteps: 10,
    recipe: parseRecipe(recipe),
  });
}

/** A batch with one padded row tail. */
function batchOf(program: TrainingProgram): Map<string, Tensor> {
  const ids = Array.from({ length: BATCH * SEQ }, (_, i) => (i * 7 + 3) % 44);
  const mask = ids.map((_, i) => i < SEQ || i % SEQ < SEQ - 2 ? 1 : 0);
  return new Map([
    ["input_ids", tensor("i64", [BATCH, SEQ], ids)],
    ["attention_mask", tensor("i64", [BATCH, SEQ], mask)],
    ["token_type_ids", tensor("i64", [BATCH, SEQ], ids.map(() => 0))],
    [program.labels[0], tensor("i64", [BATCH], [1, 0])],
  ]);
}

/**
 * The initial state with LayerNorm scales raised on one channel each, so
 * the inputs of Q/K/V and FFN1 hold outliers (|x| > γ = 5); `big` = 5000
 * pushes |x| past 1275, where Approach 2's k needs int16.
 */
function plantedState(program: TrainingProgram, big: number): TrainingState {
  const state = initialTrainingState(program.gradients, 1, program.params);
  const tensors = new Map(state.tensors);
  for (
    const [name, channel, value] of [
      ["bert.embeddings.LayerNorm.weight", 5, big],
      ["bert.encoder.layer.0.attention.output.LayerNorm.weight", 3, 12],
    ] as const
  ) {
    const t = tensors.get(name)!;
    const data = Float32Array.from(t.data);
    data[channel] = value;
    tensors.set(name, { ...t, data });
  }
  return { ...state, tensors };
}

/** Asserts the teacher-forced check of `graph` on `feeds`; returns it. */
async function assertExact(graph: Graph, feeds: Map<string, Tensor>) {
  const check = await teacherForced(graph, feeds);
  assert.deepEqual(check.inexact, []);
  assert.ok(check.exact > 0);
  for (const [op, error] of check.worst) {
    assert.ok(error < 1e-4, `${op}: relative error ${error}`);
  }
  return check;
}

const RECIPES = ["int8", "int8-a1", "int8-a2", "fp16", "int12", "int16"];

for (const recipe of RECIPES) {
  Deno.test(`${recipe} on the engine: no fallbacks, quantisers and integer products exact`, async () => {
    const program = compile(recipe);
    for (const graph of [program.step, program.evaluation]) {
      const engine = await Engine.create(graph);
      assert.deepEqual(engine.fallbacks(), []);
      const products = engine.graph.nodes.filter((n) => n.op === "IntMatMul");
      // 8 weighted products forward, dX and dW of each backward.
      const want = !recipe.startsWith("int8")
        ? 0
        : graph === program.step
        ? 24
        : 8;
      assert.equal(products.length, want);
    }
    const batch = batchOf(program);
    const bigs = recipe === "int8-a2" ? [40, 5000] : [40];
    for (const big of bigs) {
      const state = plantedState(program, big);
      const check = await assertExact(
        program.step,
        new Map([...batch, ...state.tensors, ["step", tensor("i64", [], [3])]]),
      );
      if (recipe === "int8-a1" || recipe === "int8-a2") {
        assert.ok(check.side.columns > 0, "no outlier reached a side stream");
      }
      if (big > 1275) assert.ok(check.side.wide > 0, "no int16 k");
    }
    await assertExact(program.evaluation, batch);
  });
}

Deno.test("two engine training steps agree with the reference trainer for every recipe", async () => {
  for (const recipe of RECIPES) {
    const program = compile(recipe);
    let state = plantedState(program, 40);
    const engine = await Engine.create(program.step, {
      resident: state.tensors,
    });
    const batch = batchOf(program);
    for (let k = 0; k < 2; k++) {
      const got = engine.run(
        new Map([...batch, ["step", tensor("i64", [], [k])]]),
      );
      const want = trainStep(program.step, state, batch);
      state = want.state;
      const error = relativeError(got.get("loss")!, want.outputs.get("loss")!);
      assert.ok(error < 1e-6, `${recipe} step ${k}: loss error ${error}`);
    }
    for (const name of program.params) {
      const [a, b] = [engine.value(name).data, state.tensors.get(name)!.data];
      let worst = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
      }
      assert.ok(worst < 1e-2 * 1e-3, `${recipe} ${name}: ${worst}`);
    }
  }
});
