/**
 * A fine-tuning run: compiles the training step of an encoder, trains it
 * epoch by epoch on GLUE examples and scores the dev set after each epoch
 * with the metric GLUE uses for the task.
 *
 * The steps run on the reference trainer for now; the WASM engine slots in
 * behind the same calls.
 *
 * @module
 */

import type { GlueExample } from "../../runtime/data/glue.ts";
import type { GlueTaskName } from "../../runtime/data/glue_tasks.ts";
import { glueScores } from "../../runtime/data/metrics.ts";
import type { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import { execute } from "../executor/execute.ts";
import { replaceConstants } from "../export/replace_constants.ts";
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import {
  compileTraining,
  type TrainingProgram,
} from "../passes/training_pipeline.ts";
import { initialTrainingState, type TrainingState } from "../training/state.ts";
import { trainStep } from "../training/reference_trainer.ts";
import { makeBatches, shuffledOrder } from "./batches.ts";

/** Settings of a run (Hugging Face `run_glue.py` meanings). */
export interface FineTuneOptions {
  readonly task: GlueTaskName;
  readonly head: string;
  readonly epochs: number;
  readonly batch: number;
  readonly seq: number;
  readonly learningRate: number;
  readonly warmupRatio: number;
  readonly weightDecay: number;
  readonly seed: number;
}

/** What one epoch gave. */
export interface EpochReport {
  readonly epoch: number;
  readonly step: number;
  /** Mean training loss over the epoch. */
  readonly trainLoss: number;
  /** Dev metrics (GLUE's for the task). */
  readonly dev: Record<string, number>;
  /** Training throughput of the epoch, real tokens per second. */
  readonly tokensPerSecond: number;
}

/** Progress callbacks. */
export interface FineTuneHooks {
  /** After every step: steps done, steps in all, the step's loss, real tokens so far. */
  onStep?(step: number, total: number, loss: number, tokens: number): void;
  /** After every epoch's evaluation. */
  onEpoch?(report: EpochReport): void;
  /** Saves the state: every `checkpointEvery` steps and after each epoch. */
  onCheckpoint?(state: TrainingState): Promise<void>;
  /** Steps between checkpoints (default: only at epoch ends). */
  readonly checkpointEvery?: number;
  /** Stop once this many steps are done (as if the run were killed there). */
  readonly stopAfter?: number;
}

/** A finished run. */
export interface FineTuneResult {
  readonly program: TrainingProgram;
  readonly state: TrainingState;
  /** Loss of every step. */
  readonly losses: readonly number[];
  readonly history: readonly EpochReport[];
}

/** The trained weights from a state (parameters only, not the moments). */
function weightsOf(
  state: TrainingState,
  params: readonly string[],
): Map<string, Tensor> {
  return new Map(params.map((p) => [p, state.tensors.get(p)!]));
}

/** Dev metrics of `forward` with the weights of `state`. */
export function evaluate(
  program: TrainingProgram,
  state: TrainingState,
  dev: readonly GlueExample[],
  tokenizer: BertTokenizer,
  options: FineTuneOptions,
): Record<string, number> {
  const graph: Graph = replaceConstants(
    program.forward,
    weightsOf(state, program.params),
  );
  const order = dev.map((_, i) => i);
  const predictions: number[] = [];
  const labels: number[] = [];
  for (
    const batch of makeBatches(
      graph,
      dev,
      order,
      tokenizer,
      program.labels[0],
      options.batch,
      options.seq,
    )
  ) {
    const logits = execute(graph, batch.feeds).get("logits")!;
    const classes = logits.shape[logits.shape.length - 1];
    for (let r = 0; r < batch.rows; r++) {
      const row = Array.from(
        logits.data.subarray(r * classes, (r + 1) * classes),
      );
      predictions.push(classes === 1 ? row[0] : row.indexOf(Math.max(...row)));
    }
    labels.push(...batch.labels);
  }
  return glueScores(options.task, predictions, labels) as Record<
    string,
    number
  >;
}

/** Compiles the training program of a run. */
export function compileRun(
  imported: Graph,
  trainSize: number,
  options: FineTuneOptions,
): TrainingProgram {
  const totalSteps = Math.ceil(trainSize / options.batch) * options.epochs;
  return compileTraining(imported, {
    batch: options.batch,
    seq: options.seq,
    head: options.head,
    seed: options.seed,
    lr: options.learningRate,
    totalSteps,
    warmupSteps: Math.round(totalSteps * options.warmupRatio),
    weightDecay: options.weightDecay,
  });
}

/**
 * Fine-tunes `imported` (an encoder graph) on `train`, scoring `dev` each
 * epoch. With `resume` (a state saved by `onCheckpoint`), the run continues
 * at that state's step, mid-epoch if need be: batch order depends only on
 * (seed, epoch), so the result is bit-identical to a run never stopped.
 */
export async function fineTune(
  imported: Graph,
  train: readonly GlueExample[],
  dev: readonly GlueExample[],
  tokenizer: BertTokenizer,
  options: FineTuneOptions,
  hooks: FineTuneHooks = {},
  resume?: TrainingState,
): Promise<FineTuneResult> {
  const stepsPerEpoch = Math.ceil(train.length / options.batch);
  const totalSteps = stepsPerEpoch * options.epochs;
  const program = compileRun(imported, train.length, options);
  let state = resume ??
    initialTrainingState(program.gradients, options.seed, program.params);
  const losses: number[] = [];
  const history: EpochReport[] = [];
  let tokens = 0;
  const firstEpoch = Math.floor(state.step / stepsPerEpoch) + 1;
  for (let epoch = firstEpoch; epoch <= options.epochs; epoch++) {
    const start = performance.now();
    const epochTokens = tokens;
    const order = shuffledOrder(train.length, options.seed, epoch);
    const skip = state.step - (epoch - 1) * stepsPerEpoch;
    const batches = makeBatches(
      program.forward,
      train,
      order.slice(skip * options.batch),
      tokenizer,
      program.labels[0],
      options.batch,
      options.seq,
    );
    let sum = 0;
    for (const batch of batches) {
      const result = trainStep(program.step, state, batch.feeds);
      state = result.state;
      const loss = result.outputs.get("loss")!.data[0];
      losses.push(loss);
      sum += loss;
      tokens += batch.tokens;
      hooks.onStep?.(state.step, totalSteps, loss, tokens);
      if (
        hooks.checkpointEvery !== undefined &&
        state.step % hooks.checkpointEvery === 0
      ) {
        await hooks.onCheckpoint?.(state);
      }
      if (hooks.stopAfter !== undefined && state.step >= hooks.stopAfter) {
        return { program, state, losses, history };
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const report: EpochReport = {
      epoch,
      step: state.step,
      trainLoss: sum / batches.length,
      dev: evaluate(program, state, dev, tokenizer, options),
      tokensPerSecond: (tokens - epochTokens) / seconds,
    };
    history.push(report);
    hooks.onEpoch?.(report);
    await hooks.onCheckpoint?.(state);
  }
  return { program, state, losses, history };
}
