/**
 * A smoke check of the training runtime: it builds a toy BERT, compiles its
 * training step (forward, autodiff, AdamW) and runs a few steps on the
 * WebAssembly engine over a fixed batch. The bundle tests run it in Deno,
 * Node and a browser: the losses must fall and agree across environments
 * (to f32 rounding: engines without relaxed SIMD use a plain multiply-add).
 *
 * @module
 */

import { hasRelaxedSimd } from "../src/codegen/gemm/features.ts";
import { tensor } from "../src/ir/tensor.ts";
import { buildBertGraph } from "../src/models/bert_builder.ts";
import { STEP_INPUT } from "../src/passes/optimizer.ts";
import { compileTraining } from "../src/passes/training_pipeline.ts";
import { initialTrainingState } from "../src/training/state.ts";
import { Engine } from "./engine/mod.ts";

/** What the training smoke reports. */
export interface TrainingSmokeResult {
  /** The loss of every step (computed before its update). */
  readonly losses: number[];
  /** Nodes the engine ran on the reference evaluator (0 expected). */
  readonly fallbacks: number;
  /** Whether this engine runs the relaxed-SIMD kernels. */
  readonly relaxedSimd: boolean;
}

/** Steps run; enough for the loss to fall clearly on a fixed batch. */
const STEPS = 8;

const CONFIG = {
  vocab_size: 30,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 8,
  type_vocab_size: 2,
};

/** A few training steps of a toy BERT on the engine. */
export async function runTrainingSmoke(): Promise<TrainingSmokeResult> {
  const program = compileTraining(buildBertGraph(CONFIG, 1), {
    batch: 2,
    seq: 6,
    head: "classification:2",
    lr: 3e-3,
    totalSteps: STEPS,
  });
  const state = initialTrainingState(program.gradients, 1, program.params);
  const engine = await Engine.create(program.step, { resident: state.tensors });
  const ids = [2, 7, 11, 5, 3, 0, 2, 9, 14, 21, 3, 0];
  const feeds = new Map([
    ["input_ids", tensor("i64", [2, 6], ids)],
    [
      "attention_mask",
      tensor("i64", [2, 6], ids.map((id) => (id === 0 ? 0 : 1))),
    ],
    ["token_type_ids", tensor("i64", [2, 6])],
    [program.labels[0], tensor("i64", [2], [1, 0])],
  ]);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    feeds.set(STEP_INPUT, tensor("i64", [], [step]));
    losses.push(engine.run(feeds).get("loss")!.data[0]);
  }
  return {
    losses,
    fallbacks: engine.fallbacks().length,
    relaxedSimd: hasRelaxedSimd(),
  };
}
