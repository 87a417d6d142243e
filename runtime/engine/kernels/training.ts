/**
 * The small training-step kernels: the learning-rate schedule in plain
 * TypeScript, following the reference operator's arithmetic; training
 * dropout with its gradient (the mask defined by the reference's hash, the
 * scaling in doubles rounded once) and global-norm clipping on generated
 * kernels split between the threads.
 *
 * @module
 */

import { floatAttr, intAttr } from "../../../src/ir/graph.ts";
import { dropoutKey, streamOf } from "../../../src/ops/dropout_train.ts";
import { linearWarmupDecay } from "../../../src/ops/optimizer_ops.ts";
import {
  generateDropoutBwd,
  generateDropoutFwd,
  generateGradScale,
  generateSumSquares,
  NORM_BLOCK,
} from "../../../src/codegen/f32/mod.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import { elementwiseSplit, loadSplit } from "./generated.ts";
import type {
  Kernel,
  KernelTable,
  NodeInfo,
  SplitSpec,
  Step,
} from "./types.ts";

/** LinearWarmupDecay(step) → lr, as HF's schedule. */
function schedule(info: NodeInfo): Kernel {
  const { attrs } = info.node;
  const lr = floatAttr(attrs, "lr", 0);
  const warmup = intAttr(attrs, "warmup_steps", 0);
  const total = intAttr(attrs, "total_steps", 0);
  return {
    build(rt): Step {
      const step = rt.inputView(0);
      const out = rt.outputView(0);
      return () => {
        out[0] = lr * linearWarmupDecay(step[0], warmup, total);
      };
    },
  };
}

/**
 * GlobalNormClip(g…) → clipped g…, norm: torch's clip_grad_norm_. The sum
 * of squares runs in the generated `sum_squares` kernel over whole blocks
 * (split between the threads; partials added in block order, the tail in
 * order after them, tensor after tensor), the scaling in `grad_scale` — the
 * same result on any number of threads.
 */
function globalNormClip(info: NodeInfo): Kernel | undefined {
  if (!info.inputs.every((t) => t?.dtype === "f32")) return undefined;
  const maxNorm = floatAttr(info.node.attrs, "max_norm", 1);
  const epsilon = floatAttr(info.node.attrs, "epsilon", 1e-6);
  const n = info.inputs.length;
  const lengths = info.inputs.map((t) => sizeOf(t!.shape));
  const blocks = lengths.map((length) => Math.floor(length / NORM_BLOCK));
  return {
    scratchBytes: 8 * Math.max(1, ...blocks),
    async build(rt): Promise<Step> {
      const sumSquares = await loadSplit(
        rt,
        "sum_squares",
        generateSumSquares,
        {
          count: 1,
          grain: 1,
          plan: () => ({
            pointers: [[0, 4 * NORM_BLOCK], [2, 8]],
            bytesPerUnit: 4 * NORM_BLOCK,
          }),
        },
      );
      const scale = await loadSplit(
        rt,
        "grad_scale",
        generateGradScale,
        elementwiseSplit(2, [0, 1]),
      );
      const grads = info.inputs.map((_, i) => rt.inputView(i));
      const from = info.inputs.map((_, i) => rt.input(i));
      const to = info.inputs.map((_, i) => rt.output(i));
      const partials = new Float64Array(
        rt.memory.buffer,
        rt.scratch,
        Math.max(1, ...blocks),
      );
      const norm = rt.outputView(n);
      return () => {
        let squares = 0;
        grads.forEach((g, i) => {
          sumSquares(from[i], blocks[i], rt.scratch);
          for (let b = 0; b < blocks[i]; b++) squares += partials[b];
          for (let k = blocks[i] * NORM_BLOCK; k < g.length; k++) {
            squares += g[k] * g[k];
          }
        });
        const total = Math.fround(Math.sqrt(squares));
        const factor = Math.fround(Math.min(1, maxNorm / (total + epsilon)));
        grads.forEach((_, i) => scale(from[i], to[i], lengths[i], factor));
        norm[0] = total;
      };
    },
  };
}

/**
 * How the dropout kernels divide: by elements in 16-element groups, the
 * f32 arrays advancing 4 bytes and the mask 1 per element — and, forward,
 * the index of the first element (argument 4), so each chunk hashes the
 * elements it covers.
 */
const DROPOUT_FWD_SPLIT: SplitSpec = {
  count: 3,
  grain: 16,
  plan: () => ({ pointers: [[0, 4], [1, 4], [2, 1], [4, 1]], bytesPerUnit: 9 }),
};
const DROPOUT_BWD_SPLIT: SplitSpec = {
  count: 3,
  grain: 16,
  plan: () => ({ pointers: [[0, 4], [1, 1], [2, 4]], bytesPerUnit: 9 }),
};

/**
 * DropoutTrain(x, seed) → y, mask by the reference's counter hash, on the
 * generated kernel (a mask nobody reads goes to scratch). Dropout sits on
 * f32 activations; another type runs on the reference kernel.
 */
function dropoutTrain(info: NodeInfo): Kernel | undefined {
  if (info.inputs[0]?.dtype !== "f32") return undefined;
  const ratio = floatAttr(info.node.attrs, "ratio", 0.5);
  const stream = streamOf(info.node);
  const bound = Math.ceil(ratio * 2 ** 32) | 0;
  const n = sizeOf(info.inputs[0].shape);
  return {
    scratchBytes: info.outputs[1] === undefined ? n : 0,
    async build(rt): Promise<Step> {
      const forward = await loadSplit(
        rt,
        "dropout_fwd",
        generateDropoutFwd,
        DROPOUT_FWD_SPLIT,
      );
      const seed = rt.inputView(1);
      const [x, y] = [rt.input(0), rt.output(0)];
      const mask = info.outputs[1] === undefined ? rt.scratch : rt.output(1);
      return () =>
        forward(
          x,
          y,
          mask,
          n,
          0,
          dropoutKey(seed[0], stream),
          bound,
          1 - ratio,
        );
    },
  };
}

/** DropoutGrad(dy, mask) → dy·mask/(1 − ratio), on the generated kernel (f32). */
function dropoutGrad(info: NodeInfo): Kernel | undefined {
  if (info.inputs[0]?.dtype !== "f32") return undefined;
  const scale = 1 / (1 - floatAttr(info.node.attrs, "ratio", 0.5));
  const n = sizeOf(info.inputs[0].shape);
  return {
    async build(rt): Promise<Step> {
      const backward = await loadSplit(
        rt,
        "dropout_bwd",
        generateDropoutBwd,
        DROPOUT_BWD_SPLIT,
      );
      const [dy, mask, dx] = [rt.input(0), rt.input(1), rt.output(0)];
      return () => backward(dy, mask, dx, n, scale);
    },
  };
}

/** The training-step kernels. */
export const trainingKernels: KernelTable = {
  LinearWarmupDecay: schedule,
  GlobalNormClip: globalNormClip,
  DropoutTrain: dropoutTrain,
  DropoutGrad: dropoutGrad,
};
