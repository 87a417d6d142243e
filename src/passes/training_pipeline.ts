/**
 * From an imported encoder to a training step: the forward pipeline (with
 * the weights preserved so they stay trainable), a task head, dropout,
 * autodiff and the optimizer — the graph one call of the trainer runs per
 * batch — and then the precision recipe's passes (`src/recipes`) on the step graph
 * (training rounding, seeded by `step`) and on the evaluation graph, and
 * on the step, optionally, the `recompute` pass.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { isFloat } from "../ir/dtype.ts";
import {
  evaluationTarget,
  parseRecipe,
  type Recipe,
  recipePasses,
  trainingTarget,
} from "../recipes/mod.ts";
import { attachHead } from "./attach_head.ts";
import { autodiff } from "./autodiff.ts";
import { type DropoutOptions, insertDropout } from "./insert_dropout.ts";
import { appendOptimizer, type OptimizerOptions } from "./optimizer.ts";
import { recomputePass, type RecomputeTarget } from "./recompute.ts";
import {
  FORWARD_PIPELINE,
  type PassObserver,
  runPipeline,
} from "./pipeline.ts";

/** What shapes the training step. */
export interface TrainingCompileOptions
  extends Omit<OptimizerOptions, "params"> {
  /** Batch size of every step. */
  readonly batch: number;
  /** Sequence length of every step. */
  readonly seq: number;
  /** Task head: `classification:N`, `regression` or `span`. */
  readonly head: string;
  /** Seed of the head's initial weights and of the recipe's rounding streams. */
  readonly seed?: number;
  /** Precision recipe (default fp32). */
  readonly recipe?: Recipe;
  /**
   * Dropout of the training step (default none); `forward` and
   * `evaluation` never drop out. Masks are seeded by `seed` and the step.
   */
  readonly dropout?: Omit<DropoutOptions, "seed" | "step">;
  /** Sees the step graph after each recipe pass (for `--dump-ir`). */
  readonly observe?: PassObserver;
  /** Saved inputs the backward computes again instead (default none). */
  readonly recompute?: readonly RecomputeTarget[];
}

/** The graphs a fine-tuning run needs. */
export interface TrainingProgram {
  /** Encoder + head in f32: inputs and labels in, `loss` and `logits` out (serving, export). */
  readonly forward: Graph;
  /** `forward` under the recipe at evaluation rounding (what dev scores run). */
  readonly evaluation: Graph;
  /**
   * Forward (with the step's dropout, which reads `step`) and backward:
   * `loss`, `logits` and each `p@grad` out.
   */
  readonly gradients: Graph;
  /** One training step: forward, backward and the AdamW update, under the recipe. */
  readonly step: Graph;
  /** The trainable parameters, in order. */
  readonly params: readonly string[];
  /** The labels inputs the head added. */
  readonly labels: readonly string[];
}

/** The weights of an imported graph: float constants of more than one element. */
export function weightNames(graph: Graph): string[] {
  return [...graph.constants].filter(([, t]) =>
    isFloat(t.dtype) && t.data.length > 1
  ).map(([name]) => name);
}

/** Compiles the training step of `imported` (an encoder as the frontend gives it). */
export function compileTraining(
  imported: Graph,
  options: TrainingCompileOptions,
): TrainingProgram {
  const encoder = runPipeline(
    imported,
    {
      batch: options.batch,
      seq: options.seq,
      dims: {},
      preserve: weightNames(imported),
    },
    FORWARD_PIPELINE,
  );
  const headed = attachHead(encoder, options.head, { seed: options.seed ?? 0 });
  const training = options.dropout === undefined
    ? headed.graph
    : insertDropout(headed.graph, { ...options.dropout, seed: options.seed });
  const withGrads = autodiff(training, {
    loss: headed.loss,
    wrt: headed.params,
  });
  const step = appendOptimizer(withGrads, {
    ...options,
    params: headed.params,
  });
  const recipe = options.recipe ?? parseRecipe("fp32");
  const salt = options.seed ?? 0;
  const shapes = { batch: options.batch, seq: options.seq, dims: {} };
  return {
    forward: headed.graph,
    evaluation: runPipeline(
      headed.graph,
      shapes,
      recipePasses(evaluationTarget(recipe, salt)),
    ),
    gradients: withGrads,
    step: runPipeline(
      step,
      shapes,
      [
        ...recipePasses(trainingTarget(recipe, salt)),
        ...(options.recompute?.length
          ? [recomputePass(options.recompute)]
          : []),
      ],
      options.observe,
    ),
    params: headed.params,
    labels: headed.labels,
  };
}
