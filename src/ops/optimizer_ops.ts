/**
 * The training-step operators the `optimizer` pass appends: the learning-rate
 * schedule, global-norm gradient clipping and the AdamW update.
 *
 * They follow PyTorch and Hugging Face, so a fine-tuning run here can be
 * compared with `run_glue.py` step by step:
 *
 * - `LinearWarmupDecay(step)` is `get_linear_schedule_with_warmup`: linear
 *   warm-up from 0 to `lr` over `warmup_steps`, then linear decay to 0 at
 *   `total_steps`. `step` counts the updates done before this one, so the
 *   first update (step 0) gets lr 0 when there is warm-up, as in HF.
 * - `CosineWarmupDecay(step)` is `get_cosine_schedule_with_warmup` (half a
 *   cycle): the same warm-up, then lr·½(1 + cos(π·p)) with p the fraction
 *   of the decay steps done, reaching 0 at `total_steps`.
 * - `GlobalNormClip(g1, …, gn)` is `torch.nn.utils.clip_grad_norm_`: one
 *   L2 norm over every element of every gradient, each gradient scaled by
 *   min(1, max_norm / (norm + epsilon)); the last output is the norm before
 *   clipping (what HF logs as `grad_norm`).
 * - `AdamW(w, g, m, v, lr, step)` is `torch.optim.AdamW`: with t = step + 1,
 *   m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g², m̂ = m'/(1−β1^t),
 *   v̂ = v'/(1−β2^t), w' = w − lr·(m̂/(√v̂ + ε) + weight_decay·w). The decay
 *   is decoupled (it never enters m or v) and uses the weight before the
 *   update, as torch's `param.mul_(1 − lr·wd)` does. `step` is the same
 *   0-based counter the schedule reads; the WASM kernel
 *   (`src/codegen/f32/adamw.ts`) takes t itself, so lowering passes step + 1.
 *
 * The reference kernels compute each element in double and round each
 * stored output (m', v', w', clipped g) once to f32; w' is computed from the
 * rounded m' and v', as a kernel that stores its state in f32 sees them.
 *
 * @module
 */

import { floatAttr, intAttr, type Node, type ValueType } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { inputTensor, inputType } from "./dims.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** Throws unless `type` is an f32 tensor, rank-0 when `scalar`. */
function checkF32(
  node: Node,
  i: number,
  type: ValueType,
  scalar = false,
): void {
  if (type.dtype !== "f32") {
    throw new OpError(node, `input ${i} must be f32, got ${type.dtype}.`);
  }
  if (scalar && type.shape.length !== 0) {
    throw new OpError(node, `input ${i} must be a scalar f32.`);
  }
}

/** Throws unless `type` is the i64 scalar step counter. */
function checkStepType(node: Node, i: number, type: ValueType): void {
  if (type.dtype !== "i64" || type.shape.length !== 0) {
    throw new OpError(
      node,
      `input ${i} (step) must be a scalar i64, got ${type.dtype}[${type.shape}].`,
    );
  }
}

/** The step counter's value: a non-negative integer. */
function stepValue(node: Node, t: Tensor): number {
  const step = t.data[0];
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new OpError(
      node,
      `step must be a non-negative integer, got ${step}.`,
    );
  }
  return step;
}

function sameShape(a: ValueType, b: ValueType): boolean {
  return a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * HF's `lr_lambda`: the factor of the base learning rate at `step`. The
 * `max(1, …)` guards are HF's, so warmup 0 or warmup = total cannot divide
 * by zero.
 */
export function linearWarmupDecay(
  step: number,
  warmupSteps: number,
  totalSteps: number,
): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  return Math.max(
    0,
    (totalSteps - step) / Math.max(1, totalSteps - warmupSteps),
  );
}

/**
 * HF's cosine `lr_lambda` (half a cycle): linear warm-up, then
 * ½(1 + cos(π·progress)), clamped at 0 past `totalSteps`.
 */
export function cosineWarmupDecay(
  step: number,
  warmupSteps: number,
  totalSteps: number,
): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) /
    Math.max(1, totalSteps - warmupSteps);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

/** Throws unless the schedule node has its required attributes. */
function checkScheduleAttrs(node: Node): void {
  for (const key of ["lr", "total_steps"]) {
    if (node.attrs[key] === undefined) {
      throw new OpError(node, `attribute ${key} is required.`);
    }
  }
}

/** A schedule op: `factor` of the base `lr` at `step`. */
function scheduleOp(
  name: string,
  summary: string,
  factor: (step: number, warmupSteps: number, totalSteps: number) => number,
): OpDef {
  return {
    name,
    summary,
    inputs: [1, 1],
    outputs: [1, 1],
    infer(ctx) {
      checkStepType(ctx.node, 0, inputType(ctx, 0));
      checkScheduleAttrs(ctx.node);
      return [{ dtype: "f32", shape: [] }];
    },
    evaluate(inputs, node) {
      const stepT = inputTensor(node, inputs, 0);
      checkStepType(node, 0, stepT);
      checkScheduleAttrs(node);
      const lr = floatAttr(node.attrs, "lr", 0);
      const f = factor(
        stepValue(node, stepT),
        intAttr(node.attrs, "warmup_steps", 0),
        intAttr(node.attrs, "total_steps", 0),
      );
      return [tensor("f32", [], [lr * f])];
    },
  };
}

const schedule = scheduleOp(
  "LinearWarmupDecay",
  "Learning rate at `step`: linear warm-up to `lr`, then linear decay to 0 (HF).",
  linearWarmupDecay,
);

const cosineSchedule = scheduleOp(
  "CosineWarmupDecay",
  "Learning rate at `step`: linear warm-up to `lr`, then cosine decay to 0 (HF).",
  cosineWarmupDecay,
);

/** torch's `clip_grad_norm_` adds this to the norm before dividing. */
const CLIP_EPSILON = 1e-6;

const globalNormClip: OpDef = {
  name: "GlobalNormClip",
  summary:
    "Scales every gradient by min(1, max_norm/(‖all‖₂+ε)); last output is ‖all‖₂.",
  inputs: [1, 2 ** 31 - 1],
  outputs: [2, 2 ** 31],
  infer(ctx) {
    const { node } = ctx;
    if (node.outputs.length !== ctx.inputs.length + 1) {
      throw new OpError(
        node,
        `needs one output per gradient plus the norm: ${
          ctx.inputs.length + 1
        } outputs, got ${node.outputs.length}.`,
      );
    }
    const types = ctx.inputs.map((_, i) => inputType(ctx, i));
    types.forEach((t, i) => checkF32(node, i, t));
    return [...types, { dtype: "f32", shape: [] }];
  },
  evaluate(inputs, node) {
    const grads = inputs.map((_, i) => inputTensor(node, inputs, i));
    grads.forEach((g, i) => checkF32(node, i, g));
    const maxNorm = floatAttr(node.attrs, "max_norm", 1);
    const epsilon = floatAttr(node.attrs, "epsilon", CLIP_EPSILON);
    let squares = 0;
    for (const g of grads) for (const x of g.data) squares += x * x;
    const norm = Math.fround(Math.sqrt(squares));
    // torch multiplies by the clamped coefficient held as an f32 tensor.
    const scale = Math.fround(Math.min(1, maxNorm / (norm + epsilon)));
    const clipped = grads.map((g) =>
      tensor("f32", g.shape, Float64Array.from(g.data, (x) => x * scale))
    );
    return [...clipped, tensor("f32", [], [norm])];
  },
};

/** AdamW's operands: w, g, m, v alike in f32, lr an f32 scalar, step i64. */
function checkAdamTypes(node: Node, types: readonly ValueType[]): void {
  const w = types[0];
  types.slice(0, 4).forEach((t, i) => {
    checkF32(node, i, t);
    if (!sameShape(t, w)) {
      throw new OpError(
        node,
        `input ${i} has shape [${t.shape}] but the weight has [${w.shape}].`,
      );
    }
  });
  checkF32(node, 4, types[4], true);
  checkStepType(node, 5, types[5]);
}

const adamW: OpDef = {
  name: "AdamW",
  summary:
    "torch.optim.AdamW step on (w, g, m, v, lr, step) → (w', m', v'); decoupled decay.",
  inputs: [6, 6],
  outputs: [3, 3],
  infer(ctx) {
    const types = [0, 1, 2, 3, 4, 5].map((i) => inputType(ctx, i));
    checkAdamTypes(ctx.node, types);
    return [types[0], types[0], types[0]];
  },
  evaluate(inputs, node) {
    const [w, g, m, v, lrT, stepT] = [0, 1, 2, 3, 4, 5].map((i) =>
      inputTensor(node, inputs, i)
    );
    checkAdamTypes(node, [w, g, m, v, lrT, stepT]);
    const beta1 = floatAttr(node.attrs, "beta1", 0.9);
    const beta2 = floatAttr(node.attrs, "beta2", 0.999);
    const epsilon = floatAttr(node.attrs, "epsilon", 1e-8);
    const decay = floatAttr(node.attrs, "weight_decay", 0);
    const lr = lrT.data[0];
    const t = stepValue(node, stepT) + 1;
    const correction1 = 1 - beta1 ** t;
    const correction2 = 1 - beta2 ** t;
    const n = w.data.length;
    const w1 = new Float32Array(n);
    const m1 = new Float32Array(n);
    const v1 = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const gi = g.data[i];
      m1[i] = beta1 * m.data[i] + (1 - beta1) * gi;
      v1[i] = beta2 * v.data[i] + (1 - beta2) * gi * gi;
      const mHat = m1[i] / correction1;
      const vHat = v1[i] / correction2;
      const wi = w.data[i];
      w1[i] = wi - lr * (mHat / (Math.sqrt(vHat) + epsilon) + decay * wi);
    }
    return [w1, m1, v1].map((data): Tensor => ({
      dtype: "f32",
      shape: [...w.shape],
      data,
    }));
  },
};

/** The training-step operators: schedule, clipping and AdamW. */
export const optimizerOps: readonly OpDef[] = [
  schedule,
  cosineSchedule,
  globalNormClip,
  adamW,
];
