/**
 * A fine-tuning run: compiles the training step of an encoder, trains it
 * epoch by epoch on GLUE examples and scores the dev set after each epoch
 * with the metric GLUE uses for the task.
 *
 * Steps and evaluations run on the WebAssembly engine by default, or on the
 * reference executor (`backend: "reference"`), the oracle the engine is
 * tested against. Batches are length-bucketed (`buckets.ts`): each is
 * padded only to the shortest bucket that holds its longest row and runs on
 * a graph compiled for that length.
 *
 * @module
 */

import type { GlueExample } from "../../runtime/data/glue.ts";
import type { GlueTaskName } from "../../runtime/data/glue_tasks.ts";
import { glueScores } from "../../runtime/data/metrics.ts";
import type { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import type { Graph } from "../ir/graph.ts";
import type { PassObserver } from "../passes/pipeline.ts";
import type { Recipe } from "../recipes/mod.ts";
import type { RecomputeTarget } from "../passes/recompute.ts";
import {
  compileTraining,
  type TrainingProgram,
} from "../passes/training_pipeline.ts";
import { initialTrainingState, type TrainingState } from "../training/state.ts";
import { makeBatches, shuffledOrder } from "./batches.ts";
import { bucketLengths, lazyPrograms, type Programs } from "./buckets.ts";
import { type Backend, bucketedEvaluation, stepRunner } from "./step_runner.ts";

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
  /** Where steps and evaluations run (default `wasm`; `reference` under a quantising recipe). */
  readonly backend?: Backend;
  /** Precision recipe of the training step and of dev scoring (default fp32). */
  readonly recipe?: Recipe;
  /** Saved inputs the backward computes again instead (default none). */
  readonly recompute?: readonly RecomputeTarget[];
  /**
   * Training dropout, both `hidden_dropout_prob` and
   * `attention_probs_dropout_prob`, in [0, 1) (default 0: none).
   */
  readonly dropout?: number;
  /**
   * Sequence lengths batches may be padded to instead of `seq` (default: the
   * powers of two from 32 below `seq`; `[]` pads every batch to `seq`).
   */
  readonly buckets?: readonly number[];
  /**
   * Threads per GEMM call of the training steps on the engine (default 1);
   * the results are the same bit for bit, evaluation runs on one.
   */
  readonly threads?: number;
}

/** What one epoch gave. */
export interface EpochReport {
  readonly epoch: number;
  readonly step: number;
  /**
   * Mean training loss over the epoch's steps run by this call; NaN (null
   * in JSON) in a report of `scoredOnly`.
   */
  readonly trainLoss: number;
  /** Dev metrics (GLUE's for the task). */
  readonly dev: Record<string, number>;
  /**
   * Training throughput of the epoch, real tokens per second; NaN (null in
   * JSON) in a report of `scoredOnly`.
   */
  readonly tokensPerSecond: number;
}

/**
 * The report of a run resumed at or after its last step: no epoch is left
 * to train, so the state is only scored, as the last epoch's was. Without
 * it such a run would end with no dev metrics at all.
 */
export function scoredOnly(
  options: Pick<FineTuneOptions, "epochs">,
  step: number,
  dev: Record<string, number>,
): EpochReport {
  return {
    epoch: options.epochs,
    step,
    trainLoss: NaN,
    dev,
    tokensPerSecond: NaN,
  };
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
  /** Sees the training step after each precision-recipe pass (`--dump-ir`). */
  onPass?: PassObserver;
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

/**
 * Dev metrics of the programs' evaluation graphs with the weights of
 * `state`, each batch on the graph of its length bucket.
 */
export async function evaluate(
  programs: Programs,
  state: TrainingState,
  dev: readonly GlueExample[],
  tokenizer: BertTokenizer,
  options: FineTuneOptions,
): Promise<Record<string, number>> {
  const runnerFor = bucketedEvaluation(backendOf(options), programs, state);
  const program = programs(options.seq);
  const order = dev.map((_, i) => i);
  const predictions: number[] = [];
  const labels: number[] = [];
  const batches = makeBatches(
    program.forward,
    dev,
    order,
    tokenizer,
    program.labels[0],
    options.batch,
    options.seq,
    bucketLengths(options.seq, options.buckets),
  );
  for (const batch of batches) {
    const run = await runnerFor(batch.length);
    const logits = run(batch.feeds).get("logits")!;
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

/**
 * Where a run executes: the engine unless the reference executor is asked
 * for. Quantising recipes run on the engine's integer kernels too
 * (`runtime/engine/lower_quantize.ts`), which equal the reference's integer
 * emulation bit for bit at every quantiser and integer product.
 */
export function backendOf(options: Pick<FineTuneOptions, "backend">): Backend {
  return options.backend ?? "wasm";
}

/** Compiles the training program of a run. */
export function compileRun(
  imported: Graph,
  trainSize: number,
  options: Omit<FineTuneOptions, "task">,
  observe?: PassObserver,
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
    recipe: options.recipe,
    recompute: options.recompute,
    dropout: options.dropout === undefined
      ? undefined
      : { hidden: options.dropout, attention: options.dropout },
    observe,
  });
}

/**
 * The training programs of a run by sequence length, each compiled when
 * first needed; `observe` sees only the full-length (`options.seq`) one.
 */
export function runPrograms(
  imported: Graph,
  trainSize: number,
  options: Omit<FineTuneOptions, "task">,
  observe?: PassObserver,
): Programs {
  return lazyPrograms((seq) =>
    compileRun(
      imported,
      trainSize,
      { ...options, seq },
      seq === options.seq ? observe : undefined,
    )
  );
}

/**
 * Fine-tunes `imported` (an encoder graph) on `train`, scoring `dev` each
 * epoch. With `resume` (a state saved by `onCheckpoint`), the run continues
 * at that state's step, mid-epoch if need be: batch order depends only on
 * (seed, epoch), so the result is bit-identical to a run never stopped. A
 * state at the last step is only scored (`scoredOnly`).
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
  const programs = runPrograms(imported, train.length, options, hooks.onPass);
  // The full-length program is the run's: `--dump-ir` shows it and the
  // result (export, serving) uses it, whichever buckets the batches used.
  const program = programs(options.seq);
  const lengths = bucketLengths(options.seq, options.buckets);
  const start = resume ??
    initialTrainingState(program.gradients, options.seed, program.params);
  const runner = stepRunner(
    backendOf(options),
    programs,
    start,
    options.threads,
  );
  try {
    let step = start.step;
    const losses: number[] = [];
    const history: EpochReport[] = [];
    let tokens = 0;
    const firstEpoch = Math.floor(step / stepsPerEpoch) + 1;
    for (let epoch = firstEpoch; epoch <= options.epochs; epoch++) {
      const start = performance.now();
      const epochTokens = tokens;
      const order = shuffledOrder(train.length, options.seed, epoch);
      const skip = step - (epoch - 1) * stepsPerEpoch;
      const batches = makeBatches(
        program.forward,
        train,
        order.slice(skip * options.batch),
        tokenizer,
        program.labels[0],
        options.batch,
        options.seq,
        lengths,
      );
      let sum = 0;
      for (const batch of batches) {
        const loss = await runner.step(batch.feeds, batch.length);
        step++;
        losses.push(loss);
        sum += loss;
        tokens += batch.tokens;
        hooks.onStep?.(step, totalSteps, loss, tokens);
        if (
          hooks.checkpointEvery !== undefined &&
          step % hooks.checkpointEvery === 0
        ) {
          await hooks.onCheckpoint?.(runner.state());
        }
        if (hooks.stopAfter !== undefined && step >= hooks.stopAfter) {
          return { program, state: runner.state(), losses, history };
        }
      }
      const seconds = (performance.now() - start) / 1000;
      // One copy of the state out of the engine serves evaluation and checkpoint.
      const state = runner.state();
      const report: EpochReport = {
        epoch,
        step,
        trainLoss: sum / batches.length,
        dev: await evaluate(programs, state, dev, tokenizer, options),
        tokensPerSecond: (tokens - epochTokens) / seconds,
      };
      history.push(report);
      hooks.onEpoch?.(report);
      await hooks.onCheckpoint?.(state);
    }
    if (firstEpoch > options.epochs) {
      const scores = await evaluate(
        programs,
        runner.state(),
        dev,
        tokenizer,
        options,
      );
      const report = scoredOnly(options, step, scores);
      history.push(report);
      hooks.onEpoch?.(report);
    }
    return { program, state: runner.state(), losses, history };
  } finally {
    runner.close();
  }
}
