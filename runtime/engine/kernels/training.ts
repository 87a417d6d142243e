/**
 * The small training-step kernels: the learning-rate schedule and training
 * dropout with its gradient in plain TypeScript, following the reference
 * operators' arithmetic (double, rounded once; the dropout mask is defined
 * by the reference's hash), and global-norm clipping on generated kernels.
 *
 * @module
 */

import { floatAttr, intAttr } from "../../../src/ir/graph.ts";
import {
  dropoutHashOf,
  dropoutKey,
  streamOf,
} from "../../../src/ops/dropout_train.ts";
import { linearWarmupDecay } from "../../../src/ops/optimizer_ops.ts";
import {
  generateGradScale,
  generateSumSquares,
  NORM_BLOCK,
} from "../../../src/codegen/f32/mod.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import { elementwiseSplit, loadSplit } from "./generated.ts";
import type { Kernel, KernelTable, NodeInfo, Step } from "./types.ts";

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

/** DropoutTrain(x, seed) → y, mask by the reference's counter hash. */
function dropoutTrain(info: NodeInfo): Kernel {
  const ratio = floatAttr(info.node.attrs, "ratio", 0.5);
  const stream = streamOf(info.node);
  const threshold = ratio * 2 ** 32;
  const keptScale = 1 - ratio;
  return {
    build(rt): Step {
      const x = rt.inputView(0);
      const seed = rt.inputView(1);
      const y = rt.outputView(0);
      const mask = info.outputs[1] === undefined ? undefined : rt.outputView(1);
      return () => {
        const key = dropoutKey(seed[0], stream);
        for (let k = 0; k < x.length; k++) {
          const keep = dropoutHashOf(key, k) >= threshold;
          y[k] = keep ? x[k] / keptScale : 0;
          if (mask !== undefined) mask[k] = keep ? 1 : 0;
        }
      };
    },
  };
}

/** DropoutGrad(dy, mask) → dy·mask/(1 − ratio). */
function dropoutGrad(info: NodeInfo): Kernel {
  const scale = 1 / (1 - floatAttr(info.node.attrs, "ratio", 0.5));
  return {
    build(rt): Step {
      const dy = rt.inputView(0);
      const mask = rt.inputView(1);
      const dx = rt.outputView(0);
      return () => {
        for (let k = 0; k < dy.length; k++) dx[k] = mask[k] ? dy[k] * scale : 0;
      };
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
