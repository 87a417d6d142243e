/**
 * A fine-tuned GLUE model as a forward graph for any batch shape: the
 * encoder the run started from, its task head, and the trained weights of
 * the run's checkpoint — what `finetune` exported as `model.onnx`, but
 * recompiled per (batch, sequence) instead of fixed at the run's training
 * shape, so post-training quantisation can batch dev sets by length.
 *
 * With the run's recipe it is the graph the run scored its dev set with
 * (the recipe's quantisers at evaluation rounding): an int8-a2 run served
 * int8.
 *
 * @module
 */

import { join } from "node:path";
import { importOnnxFile } from "../frontend/import_model.ts";
import { replaceConstants } from "../export/replace_constants.ts";
import type { Graph } from "../ir/graph.ts";
import { withParts } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { attachHead } from "../passes/attach_head.ts";
import { eliminateDeadCode } from "../passes/dead_code.ts";
import { DEFAULT_OPTIONS } from "../passes/pass.ts";
import { FORWARD_PIPELINE, runPipeline } from "../passes/pipeline.ts";
import { weightNames } from "../passes/training_pipeline.ts";
import {
  evaluationTarget,
  parseRecipe,
  type Recipe,
  recipePasses,
} from "../recipes/mod.ts";
import { loadCheckpoint } from "../training/checkpoint_file.ts";
import { PtqError } from "./params.ts";

/** What a served model is built from. */
export interface ServedModelSpec {
  /** The imported encoder (outputs `last_hidden_state`, `pooler_output`). */
  readonly encoder: Graph;
  /** The task head, e.g. `classification:2` or `regression`. */
  readonly head: string;
  /** Trained weights by parameter name (a checkpoint's master weights). */
  readonly weights: ReadonlyMap<string, Tensor>;
  /** Seed of the head's initial weights; only names matter once replaced. */
  readonly seed?: number;
}

/**
 * The f32 serving graph of `spec` at `batch` × `seq`: forward pipeline,
 * head, trained weights, `logits` out and no labels. With `recipe`, the
 * recipe's evaluation-rounding quantisers are applied on top.
 */
export function servedGraph(
  spec: ServedModelSpec,
  batch: number,
  seq: number,
  recipe?: Recipe,
): Graph {
  const encoder = runPipeline(
    spec.encoder,
    { batch, seq, dims: {}, preserve: weightNames(spec.encoder) },
    FORWARD_PIPELINE,
  );
  const headed = attachHead(encoder, spec.head, { seed: spec.seed ?? 0 });
  const missing = headed.params.filter((p) => !spec.weights.has(p));
  if (missing.length > 0) {
    throw new PtqError(
      `The weights lack ${missing.length} parameter(s) of the model, e.g. '${
        missing[0]
      }'; is it the checkpoint of a run on this encoder and head?`,
    );
  }
  const trained = replaceConstants(
    headed.graph,
    new Map(headed.params.map((p) => [p, spec.weights.get(p)!])),
  );
  const serving = eliminateDeadCode.run(
    withParts(trained, {
      inputs: trained.inputs.filter((n) => !headed.labels.includes(n)),
      outputs: ["logits"],
    }),
    DEFAULT_OPTIONS,
  );
  if (recipe === undefined || recipe.name === "fp32") return serving;
  return runPipeline(
    serving,
    { batch, seq, dims: {} },
    recipePasses(evaluationTarget(recipe, spec.seed ?? 0)),
  );
}

/** A fine-tuning run folder, read back. */
export interface FineTunedRun {
  /** The GLUE task (`SST-2`, …). */
  readonly task: string;
  /** The model spec (encoder, head, checkpoint weights). */
  readonly spec: ServedModelSpec;
  /** The run's precision recipe. */
  readonly recipe: Recipe;
  /** The last epoch's dev metrics as the run recorded them. */
  readonly lastDev: Readonly<Record<string, number>>;
}

/** The parts of `metrics.json` this module reads. */
interface RunMetricsFile {
  readonly model: string;
  readonly task: string;
  readonly options: {
    readonly head: string;
    readonly seed: number;
    readonly recipe: { readonly name: string };
  };
  readonly history: readonly { readonly dev: Record<string, number> }[];
}

/**
 * Reads `DIR/metrics.json` and `DIR/checkpoint.bin` of a `deno task
 * finetune` run; the encoder is the file the run names (relative to the
 * working directory, as the run was started).
 */
export async function loadFineTunedRun(dir: string): Promise<FineTunedRun> {
  let metrics: RunMetricsFile;
  try {
    metrics = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
  } catch {
    throw new PtqError(
      `'${dir}/metrics.json' cannot be read; pass the folder of a finished 'deno task finetune' run.`,
    );
  }
  const last = metrics.history?.[metrics.history.length - 1];
  if (metrics.options?.head === undefined || last === undefined) {
    throw new PtqError(`'${dir}/metrics.json' holds no finished epoch.`);
  }
  const state = await loadCheckpoint(join(dir, "checkpoint.bin"));
  return {
    task: metrics.task,
    spec: {
      encoder: importOnnxFile(metrics.model).graph,
      head: metrics.options.head,
      weights: state.tensors,
      seed: metrics.options.seed,
    },
    recipe: parseRecipe(metrics.options.recipe.name),
    lastDev: last.dev,
  };
}
