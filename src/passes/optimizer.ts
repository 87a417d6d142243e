/**
 * `optimizer`: turns a forward+backward graph into a training-step graph.
 *
 * Input: a graph whose outputs are the loss and, for each trainable
 * parameter constant `p`, its gradient `p@grad` (the autodiff convention).
 * Output: a graph that performs one optimizer step.
 *
 * - Each parameter `p` stops being a constant and becomes a graph input, so
 *   the runtime owns the f32 master weights. Its AdamW moments come in as
 *   inputs `p@m` and `p@v`, and the number of updates done so far as
 *   `step` (i64 scalar, 0 before the first update; shared with the forward
 *   when it already reads one, as dropout's seed).
 * - `LinearWarmupDecay(step)` (or `CosineWarmupDecay(step)` with
 *   `schedule: "cosine"`) gives the learning rate, one
 *   `GlobalNormClip` node clips all gradients together, and one `AdamW`
 *   node per parameter updates it (weight decay 0 for the `noDecay` ones).
 * - Outputs: the original outputs minus the gradients (so the loss), then
 *   `grad_norm` (before clipping) and `lr`, then per parameter `p@next`,
 *   `p@m@next`, `p@v@next`.
 *
 * **Feeding state back**: every output named `N@next` is the value of input
 * `N` for the next step, and `step` goes up by one. The runtime needs no other
 * knowledge of the optimizer; {@linkcode initialOptimizerState} gives the
 * state's first values.
 *
 * Before (abridged):
 * ```text
 * const w: f32[2,1] = [0.5, -0.5]
 * %"w@grad": f32[2,1] = Gemm(x, derr) {transA=1} @grad/w
 * output loss, "w@grad"
 * ```
 * After:
 * ```text
 * input step: i64[]
 * input w: f32[2,1]
 * input "w@m": f32[2,1]
 * input "w@v": f32[2,1]
 * %lr: f32[] = LinearWarmupDecay(step) {lr=0.001, total_steps=100, warmup_steps=10} @optimizer/lr
 * %"w@grad@clipped": f32[2,1], %grad_norm: f32[] = GlobalNormClip("w@grad") {max_norm=1.0} @optimizer/clip
 * %"w@next": f32[2,1], … = AdamW(w, "w@grad@clipped", "w@m", "w@v", lr, step) {…} @optimizer/AdamW/w
 * output loss, grad_norm, lr, "w@next", "w@m@next", "w@v@next"
 * ```
 * The full before/after pair is `tests/passes/optimizer_golden/`.
 *
 * @module
 */

import {
  attr,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  type ValueType,
} from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import type { Pass } from "./pass.ts";

/** Name of the step-counter input: updates done before this one. */
export const STEP_INPUT = "step";
/** Name of the output holding the global gradient norm before clipping. */
export const GRAD_NORM_OUTPUT = "grad_norm";
/** Name of the output holding this step's learning rate. */
export const LR_OUTPUT = "lr";

/** The gradient of parameter `p`, as autodiff names it. */
export const gradName = (p: string): string => `${p}@grad`;
/** AdamW's first moment (running mean of gradients) of parameter `p`. */
export const firstMomentName = (p: string): string => `${p}@m`;
/** AdamW's second moment (running mean of squared gradients) of `p`. */
export const secondMomentName = (p: string): string => `${p}@v`;
/** The output that holds input `name`'s value for the next step. */
export const nextName = (name: string): string => `${name}@next`;

/**
 * Hugging Face's `no_decay = ["bias", "LayerNorm.weight"]`, widened to the
 * spellings other exporters use for LayerNorm's scale and shift.
 */
export const HF_NO_DECAY = /bias|layer_?norm\.(weight|gamma|beta)/i;

/** Settings of the training step; defaults are HF `TrainingArguments`'. */
export interface OptimizerOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  readonly lr: number;
  /** Updates in the whole run; the rate reaches 0 there. */
  readonly totalSteps: number;
  /** Updates of linear warm-up from 0 (default 0). */
  readonly warmupSteps?: number;
  /** Decay after warm-up: `linear` (default, HF's default) or `cosine`. */
  readonly schedule?: "linear" | "cosine";
  /** Adam β1 (default 0.9). */
  readonly beta1?: number;
  /** Adam β2 (default 0.999). */
  readonly beta2?: number;
  /** Adam ε, added to √v̂ (default 1e-8, HF's `adam_epsilon`). */
  readonly epsilon?: number;
  /** Decoupled weight decay for decayed parameters (default 0). */
  readonly weightDecay?: number;
  /** Global gradient-norm limit (default 1); `Infinity` never clips. */
  readonly maxGradNorm?: number;
  /** Parameters to train (default: every constant that has a gradient). */
  readonly params?: readonly string[];
  /** Parameters exempt from weight decay (default: {@linkcode HF_NO_DECAY}). */
  readonly noDecay?: (name: string) => boolean;
}

/** A graph the optimizer cannot be appended to, or bad settings. */
export class OptimizerError extends Error {
  /** Builds the error for graph `graph`. */
  constructor(graph: string, message: string) {
    super(`optimizer on graph '${graph}': ${message}`);
    this.name = "OptimizerError";
  }
}

const SCHEDULES: readonly string[] = ["linear", "cosine"];

function checkOptions(graph: Graph, o: OptimizerOptions): void {
  const fail = (message: string) => {
    throw new OptimizerError(graph.name, message);
  };
  const warmup = o.warmupSteps ?? 0;
  if (!(o.lr >= 0)) fail(`lr must be ≥ 0, got ${o.lr}.`);
  if (!Number.isSafeInteger(o.totalSteps) || o.totalSteps < 1) {
    fail(`totalSteps must be a positive integer, got ${o.totalSteps}.`);
  }
  if (!Number.isSafeInteger(warmup) || warmup < 0 || warmup > o.totalSteps) {
    fail(`warmupSteps must be an integer in [0, totalSteps], got ${warmup}.`);
  }
  if (o.schedule !== undefined && !SCHEDULES.includes(o.schedule)) {
    fail(`schedule must be linear or cosine, got ${o.schedule}.`);
  }
  if (!((o.maxGradNorm ?? 1) > 0)) {
    fail(`maxGradNorm must be > 0 (Infinity disables clipping).`);
  }
}

/**
 * Whether `graph` already has the step as an input (an i64 scalar), to be
 * shared with the optimizer; an input of that name of another type is an
 * {@linkcode OptimizerError}.
 */
function sharesStep(graph: Graph): boolean {
  if (!graph.inputs.includes(STEP_INPUT)) return false;
  const type = graph.types.get(STEP_INPUT);
  if (type?.dtype !== "i64" || type.shape.length !== 0) {
    throw new OptimizerError(
      graph.name,
      `input '${STEP_INPUT}' must be an i64 scalar to be the optimizer's step.`,
    );
  }
  return true;
}

/**
 * The parameters to train: `params` when given (each must be a constant
 * with a gradient), else every constant `p` whose `p@grad` the graph
 * defines, in constant order.
 */
export function trainableParams(
  graph: Graph,
  params?: readonly string[],
): string[] {
  const defined = new Set(graph.nodes.flatMap((n) => n.outputs));
  const chosen = params ??
    [...graph.constants.keys()].filter((p) => defined.has(gradName(p)));
  for (const p of chosen) {
    const t = graph.constants.get(p);
    if (t === undefined) {
      throw new OptimizerError(
        graph.name,
        `parameter '${p}' is not a constant.`,
      );
    }
    if (t.dtype !== "f32") {
      throw new OptimizerError(
        graph.name,
        `parameter '${p}' is ${t.dtype}; master weights must be f32.`,
      );
    }
    if (!defined.has(gradName(p))) {
      throw new OptimizerError(
        graph.name,
        `parameter '${p}' has no gradient '${
          gradName(p)
        }'; run autodiff first.`,
      );
    }
    const g = graph.types.get(gradName(p));
    if (g !== undefined && `${g.dtype}[${g.shape}]` !== `f32[${t.shape}]`) {
      throw new OptimizerError(
        graph.name,
        `gradient '${
          gradName(p)
        }' is ${g.dtype}[${g.shape}] but '${p}' is f32[${t.shape}].`,
      );
    }
  }
  if (chosen.length === 0) {
    throw new OptimizerError(graph.name, "no parameter has a gradient.");
  }
  return [...chosen];
}

/**
 * The optimizer state's first values, by step-graph input name: each
 * parameter `p` its constant's value, `p@m` and `p@v` zeros. `graph` is the
 * graph before {@linkcode appendOptimizer}.
 */
export function initialOptimizerState(
  graph: Graph,
  params?: readonly string[],
): Map<string, Tensor> {
  const state = new Map<string, Tensor>();
  for (const p of trainableParams(graph, params)) {
    const w = graph.constants.get(p)!;
    state.set(p, tensor("f32", w.shape, w.data));
    state.set(firstMomentName(p), tensor("f32", w.shape));
    state.set(secondMomentName(p), tensor("f32", w.shape));
  }
  return state;
}

/** Appends the training step to `graph`; see the module documentation. */
export function appendOptimizer(
  graph: Graph,
  options: OptimizerOptions,
): Graph {
  checkOptions(graph, options);
  const params = trainableParams(graph, options.params);
  const noDecay = options.noDecay ?? ((p: string) => HF_NO_DECAY.test(p));
  const types = new Map<string, ValueType>(graph.types);
  const scalar = (dtype: "f32" | "i64"): ValueType => ({ dtype, shape: [] });
  const paramType = (p: string): ValueType => ({
    dtype: "f32",
    shape: graph.constants.get(p)!.shape,
  });

  const stateInputs = params.flatMap((p) => [
    p,
    firstMomentName(p),
    secondMomentName(p),
  ]);
  const clipped = params.map((p) => `${gradName(p)}@clipped`);
  // A forward pass may already read the step (dropout seeds its masks with
  // it); the optimizer then shares that input instead of defining its own.
  const readsStep = sharesStep(graph);
  const newValues = [
    ...(readsStep ? [] : [STEP_INPUT]),
    ...params.flatMap((p) => [firstMomentName(p), secondMomentName(p)]),
    LR_OUTPUT,
    GRAD_NORM_OUTPUT,
    ...clipped,
    ...stateInputs.map(nextName),
  ];
  const taken = new Set([
    ...graph.inputs,
    ...graph.constants.keys(),
    ...graph.nodes.flatMap((n) => n.outputs),
  ]);
  const clash = newValues.find((name) => taken.has(name));
  if (clash !== undefined) {
    throw new OptimizerError(
      graph.name,
      `value '${clash}' already exists; the optimizer defines that name.`,
    );
  }

  types.set(STEP_INPUT, scalar("i64"));
  types.set(LR_OUTPUT, scalar("f32"));
  types.set(GRAD_NORM_OUTPUT, scalar("f32"));
  for (const p of params) {
    for (const name of [p, firstMomentName(p), secondMomentName(p)]) {
      types.set(name, paramType(p));
      types.set(nextName(name), paramType(p));
    }
    types.set(`${gradName(p)}@clipped`, paramType(p));
  }

  const nodes: Node[] = [
    ...graph.nodes,
    makeNode(
      options.schedule === "cosine" ? "CosineWarmupDecay" : "LinearWarmupDecay",
      "optimizer/lr",
      [STEP_INPUT],
      [LR_OUTPUT],
      {
        lr: attr.float(options.lr),
        warmup_steps: attr.int(options.warmupSteps ?? 0),
        total_steps: attr.int(options.totalSteps),
      },
    ),
    makeNode(
      "GlobalNormClip",
      "optimizer/clip",
      params.map(gradName),
      [...clipped, GRAD_NORM_OUTPUT],
      { max_norm: attr.float(options.maxGradNorm ?? 1) },
    ),
    ...params.map((p, i) =>
      makeNode(
        "AdamW",
        `optimizer/AdamW/${p}`,
        [
          p,
          clipped[i],
          firstMomentName(p),
          secondMomentName(p),
          LR_OUTPUT,
          STEP_INPUT,
        ],
        [p, firstMomentName(p), secondMomentName(p)].map(nextName),
        {
          beta1: attr.float(options.beta1 ?? 0.9),
          beta2: attr.float(options.beta2 ?? 0.999),
          epsilon: attr.float(options.epsilon ?? 1e-8),
          weight_decay: attr.float(noDecay(p) ? 0 : options.weightDecay ?? 0),
        },
      )
    ),
  ];

  const grads = new Set(params.map(gradName));
  const trained = new Set(params);
  return makeGraph({
    name: graph.name,
    inputs: [
      ...graph.inputs.filter((i) => i !== STEP_INPUT),
      STEP_INPUT,
      ...stateInputs,
    ],
    outputs: [
      ...graph.outputs.filter((o) => !grads.has(o)),
      GRAD_NORM_OUTPUT,
      LR_OUTPUT,
      ...stateInputs.map(nextName),
    ],
    constants: [...graph.constants].filter(([name]) => !trained.has(name)),
    nodes,
    types,
  });
}

/**
 * The `optimizer` pass for a pipeline, with its settings fixed. It requires
 * no property: parameter shapes come from the constants, and the gradients
 * it needs are checked by {@linkcode trainableParams} with a clear error.
 */
export function optimizerPass(options: OptimizerOptions): Pass {
  return {
    name: "optimizer",
    summary: "append gradient clipping, the lr schedule and AdamW updates",
    requires: [],
    provides: ["training-step"],
    run: (graph) => appendOptimizer(graph, options),
  };
}
