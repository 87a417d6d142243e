/**
 * The small training-step kernels in plain TypeScript: the learning-rate
 * schedule, global-norm clipping and training dropout with its gradient.
 * They follow the reference operators' arithmetic (double, rounded once),
 * since clipping and the schedule are scalar-heavy and the dropout mask is
 * defined by the reference's hash.
 *
 * @module
 */

import { floatAttr, intAttr } from "../../../src/ir/graph.ts";
import { dropoutHash, streamOf } from "../../../src/ops/dropout_train.ts";
import { linearWarmupDecay } from "../../../src/ops/optimizer_ops.ts";
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

/** GlobalNormClip(g…) → clipped g…, norm: torch's clip_grad_norm_. */
function globalNormClip(info: NodeInfo): Kernel {
  const maxNorm = floatAttr(info.node.attrs, "max_norm", 1);
  const epsilon = floatAttr(info.node.attrs, "epsilon", 1e-6);
  const n = info.inputs.length;
  return {
    build(rt): Step {
      const grads = info.inputs.map((_, i) => rt.inputView(i));
      const outs = info.inputs.map((_, i) => rt.outputView(i));
      const norm = rt.outputView(n);
      return () => {
        let squares = 0;
        for (const g of grads) {
          for (let k = 0; k < g.length; k++) squares += g[k] * g[k];
        }
        const total = Math.fround(Math.sqrt(squares));
        const scale = Math.fround(Math.min(1, maxNorm / (total + epsilon)));
        grads.forEach((g, i) => {
          const o = outs[i];
          for (let k = 0; k < g.length; k++) o[k] = g[k] * scale;
        });
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
        const s = seed[0];
        for (let k = 0; k < x.length; k++) {
          const keep = dropoutHash(s, k, stream) >= threshold;
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
