/**
 * The generated f32 WebAssembly kernels of `src/codegen/f32` behind IR ops
 * whose semantics they match exactly: LayerNorm (last axis) and its grad,
 * Softmax (last axis) and SoftmaxGrad, Gelu (erf form), GeluGrad, Tanh,
 * TanhGrad, Erf, the embedding Gather (axis 0) and GatherGrad, the losses
 * and their grads, and AdamW. Anything else (another axis, another dtype,
 * tanh-approximate GELU) returns `undefined` so the next implementation in
 * the dispatch list takes the node.
 *
 * Integer operands (ids, labels) arrive as i64 (held as f64) and are
 * converted to i32 in scratch first, since the kernels read i32.
 *
 * @module
 */

import {
  generateActivation,
  generateAdamW,
  generateCrossEntropyBwd,
  generateCrossEntropyFwd,
  generateEmbedding,
  generateLayerNormBwd,
  generateLayerNormFwd,
  generateMseBwd,
  generateMseFwd,
  type GenerateOptions,
  generateSoftmaxBwd,
  generateSoftmaxFwd,
} from "../../../src/codegen/f32/mod.ts";
import { floatAttr, intAttr, stringAttr } from "../../../src/ir/graph.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import {
  elementwiseSplit,
  load,
  loadSplit,
  rowwiseSplit,
} from "./generated.ts";
import type {
  Kernel,
  KernelRuntime,
  KernelTable,
  NodeInfo,
  Step,
} from "./types.ts";

const isF32 = (info: NodeInfo, ...indices: number[]) =>
  indices.every((i) => info.inputs[i]?.dtype === "f32");
const lastAxis = (info: NodeInfo, fallback: number) => {
  const rank = info.inputs[0]!.shape.length;
  const axis = intAttr(info.node.attrs, "axis", fallback);
  return (axis < 0 ? axis + rank : axis) === rank - 1;
};
const length = (info: NodeInfo, i: number) => sizeOf(info.inputs[i]!.shape);
const lastDim = (info: NodeInfo, i: number) => {
  const s = info.inputs[i]!.shape;
  return s[s.length - 1];
};

/** Copies integer input `i` as i32 into scratch at byte `at`; returns a filler. */
function int32Copy(rt: KernelRuntime, i: number, at: number, n: number) {
  const src = rt.inputView(i);
  const dst = new Int32Array(rt.memory.buffer, at, n);
  return () => {
    for (let k = 0; k < n; k++) dst[k] = src[k];
  };
}

/** A unary n-element kernel (x, y, n). */
function unary(name: string, ok: (info: NodeInfo) => boolean) {
  const gen = (o: GenerateOptions) => generateActivation(name as "gelu_fwd", o);
  return (info: NodeInfo): Kernel | undefined => {
    if (!isF32(info, 0) || !ok(info)) return undefined;
    const n = length(info, 0);
    return {
      async build(rt): Promise<Step> {
        const f = await loadSplit(rt, name, gen, elementwiseSplit(2, [0, 1]));
        const [x, y] = [rt.input(0), rt.output(0)];
        return () => f(x, y, n);
      },
    };
  };
}

/** A pointwise gradient (dy, saved) → dx via (saved, dy, dx, n). */
function pointwiseGrad(name: string, ok: (info: NodeInfo) => boolean) {
  const gen = (o: GenerateOptions) => generateActivation(name as "gelu_bwd", o);
  return (info: NodeInfo): Kernel | undefined => {
    if (!isF32(info, 0, 1) || !ok(info)) return undefined;
    const n = length(info, 0);
    return {
      async build(rt): Promise<Step> {
        const f = await loadSplit(
          rt,
          name,
          gen,
          elementwiseSplit(3, [0, 1, 2]),
        );
        const [dy, saved, dx] = [rt.input(0), rt.input(1), rt.output(0)];
        return () => f(saved, dy, dx, n);
      },
    };
  };
}

const exactGelu = (info: NodeInfo) =>
  stringAttr(info.node.attrs, "approximate", "none") === "none";

/** Whether LayerNorm's scale (and bias) are one vector of the last dim. */
function layerNormShapes(info: NodeInfo, operands: number[]): boolean {
  const h = lastDim(info, 0);
  return lastAxis(info, -1) &&
    operands.every((i) =>
      info.inputs[i] === undefined ||
      (info.inputs[i]!.dtype === "f32" && sizeOf(info.inputs[i]!.shape) === h)
    );
}

function layerNorm(info: NodeInfo): Kernel | undefined {
  if (!isF32(info, 0) || !layerNormShapes(info, [1, 2])) return undefined;
  const stats = info.outputs.slice(1).every((t) =>
    t === undefined || t.dtype === "f32"
  );
  if (!stats) return undefined;
  const hidden = lastDim(info, 0);
  const rows = length(info, 0) / hidden;
  const eps = floatAttr(info.node.attrs, "epsilon", 1e-5);
  const hasBias = info.inputs[2] !== undefined;
  return {
    // Unused statistics, and a missing bias (zeros), live in scratch.
    scratchBytes: 8 * rows + 4 * hidden,
    async build(rt): Promise<Step> {
      const f = await loadSplit(
        rt,
        `ln${hidden}`,
        (o) => generateLayerNormFwd({ hidden }, o),
        rowwiseSplit(6, [[0, 4 * hidden], [3, 4 * hidden], [4, 4], [5, 4]]),
      );
      const zeros = rt.scratch + 8 * rows;
      const mean = rt.output(1) || rt.scratch;
      const rstd = rt.output(2) || rt.scratch + 4 * rows;
      const [x, gamma, y] = [rt.input(0), rt.input(1), rt.output(0)];
      const beta = hasBias ? rt.input(2) : zeros;
      const zero = new Float32Array(rt.memory.buffer, zeros, hidden);
      return () => {
        if (!hasBias) zero.fill(0);
        f(x, gamma, beta, y, mean, rstd, rows, eps);
      };
    },
  };
}

/** LayerNormGrad(dy, x, scale): statistics recomputed by the forward kernel. */
function layerNormGrad(info: NodeInfo): Kernel | undefined {
  if (!isF32(info, 0, 1, 2) || !layerNormShapes(info, [2])) return undefined;
  const hidden = lastDim(info, 0);
  const n = length(info, 0);
  const rows = n / hidden;
  const eps = floatAttr(info.node.attrs, "epsilon", 1e-5);
  return {
    scratchBytes: 4 * n + 8 * rows + 12 * hidden,
    async build(rt): Promise<Step> {
      const fwd = await load(
        rt,
        `ln${hidden}`,
        (o) => generateLayerNormFwd({ hidden }, o),
      );
      const bwd = await load(
        rt,
        `lnb${hidden}`,
        (o) => generateLayerNormBwd({ hidden }, o),
      );
      const s = rt.scratch;
      const [mean, rstd] = [s + 4 * n, s + 4 * n + 4 * rows];
      const zeros = s + 4 * n + 8 * rows;
      // Unrequested dscale/dbias still need a home: the kernel accumulates them.
      const dgamma = rt.output(1) || zeros + 4 * hidden;
      const dbeta = rt.output(2) || zeros + 8 * hidden;
      const buffer = rt.memory.buffer;
      const clear = [zeros, dgamma, dbeta].map((at) =>
        new Float32Array(buffer, at, hidden)
      );
      const [dy, x, gamma, dx] = [
        rt.input(0),
        rt.input(1),
        rt.input(2),
        rt.output(0),
      ];
      return () => {
        for (const c of clear) c.fill(0);
        fwd(x, gamma, zeros, s, mean, rstd, rows, eps);
        bwd(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows);
      };
    },
  };
}

function softmax(info: NodeInfo): Kernel | undefined {
  if (!isF32(info, 0) || !lastAxis(info, -1)) return undefined;
  const cols = lastDim(info, 0);
  const rows = length(info, 0) / cols;
  return {
    async build(rt): Promise<Step> {
      const f = await loadSplit(
        rt,
        "softmax",
        (o) => generateSoftmaxFwd({ masked: false }, o),
        rowwiseSplit(2, [[0, 4 * cols], [1, 4 * cols]]),
      );
      const [x, y] = [rt.input(0), rt.output(0)];
      return () => f(x, y, rows, cols, 1);
    },
  };
}

function softmaxGrad(info: NodeInfo): Kernel | undefined {
  if (!isF32(info, 0, 1) || !lastAxis(info, -1)) return undefined;
  const cols = lastDim(info, 0);
  const rows = length(info, 0) / cols;
  return {
    async build(rt): Promise<Step> {
      const f = await loadSplit(
        rt,
        "softmaxb",
        (o) => generateSoftmaxBwd(o),
        rowwiseSplit(3, [[0, 4 * cols], [1, 4 * cols], [2, 4 * cols]]),
      );
      const [dy, y, dx] = [rt.input(0), rt.input(1), rt.output(0)];
      return () => f(y, dy, dx, rows, cols, 1);
    },
  };
}

/** Gather on axis 0 of an f32 [vocab, width] table: the embedding lookup. */
function embedding(info: NodeInfo): Kernel | undefined {
  const table = info.inputs[0];
  const axis = intAttr(info.node.attrs, "axis", 0);
  if (!isF32(info, 0) || table!.shape.length !== 2 || (axis + 2) % 2 !== 0) {
    return undefined;
  }
  const [vocab, width] = table!.shape;
  const count = length(info, 1);
  return {
    scratchBytes: 4 * count,
    async build(rt): Promise<Step> {
      const f = await load(rt, "embf", (o) => generateEmbedding("fwd", o));
      const ids = int32Copy(rt, 1, rt.scratch, count);
      const wrap = new Int32Array(rt.memory.buffer, rt.scratch, count);
      const [src, dst] = [rt.input(0), rt.output(0)];
      return () => {
        ids();
        for (let k = 0; k < count; k++) if (wrap[k] < 0) wrap[k] += vocab;
        f(src, rt.scratch, dst, count, width, vocab);
      };
    },
  };
}

/** GatherGrad on axis 0: scatter-add rows into a zeroed table. */
function embeddingGrad(info: NodeInfo): Kernel | undefined {
  if (!isF32(info, 0) || intAttr(info.node.attrs, "axis", 0) !== 0) {
    return undefined;
  }
  const out = info.outputs[0]!;
  const vocab = out.shape[0];
  const width = sizeOf(out.shape.slice(1));
  const count = length(info, 1);
  return {
    scratchBytes: 4 * count,
    async build(rt): Promise<Step> {
      const f = await load(rt, "embb", (o) => generateEmbedding("bwd", o));
      const ids = int32Copy(rt, 1, rt.scratch, count);
      const wrap = new Int32Array(rt.memory.buffer, rt.scratch, count);
      const table = rt.outputView(0);
      const [dy, dst] = [rt.input(0), rt.output(0)];
      return () => {
        ids();
        for (let k = 0; k < count; k++) if (wrap[k] < 0) wrap[k] += vocab;
        table.fill(0);
        f(dy, rt.scratch, dst, count, width, vocab);
      };
    },
  };
}

/** SoftmaxCrossEntropy and its grad; `grad` shifts the operands by one. */
function crossEntropy(grad: boolean) {
  return (info: NodeInfo): Kernel | undefined => {
    const first = grad ? 1 : 0;
    if (!isF32(info, first) || info.inputs[first]!.shape.length !== 2) {
      return undefined;
    }
    const [rows, classes] = info.inputs[first]!.shape;
    return {
      scratchBytes: 4 * rows,
      async build(rt): Promise<Step> {
        const f = grad
          ? await load(rt, "ceb", (o) => generateCrossEntropyBwd(o))
          : await load(rt, "cef", (o) => generateCrossEntropyFwd(o));
        const labels = int32Copy(rt, first + 1, rt.scratch, rows);
        const logits = rt.input(first);
        const out = rt.outputView(0);
        const dloss = grad ? rt.inputView(0) : undefined;
        return grad
          ? () => {
            labels();
            f(logits, rt.scratch, rt.output(0), rows, classes, dloss![0]);
          }
          : () => {
            labels();
            out[0] = f(logits, rt.scratch, rows, classes);
          };
      },
    };
  };
}

/** MeanSquaredError and its grad. */
function mse(grad: boolean) {
  return (info: NodeInfo): Kernel | undefined => {
    const first = grad ? 1 : 0;
    if (!isF32(info, first, first + 1)) return undefined;
    const n = length(info, first);
    return {
      async build(rt): Promise<Step> {
        const f = grad
          ? await load(rt, "mseb", (o) => generateMseBwd(o))
          : await load(rt, "msef", (o) => generateMseFwd(o));
        const [p, t] = [rt.input(first), rt.input(first + 1)];
        const out = rt.outputView(0);
        const dloss = grad ? rt.inputView(0) : undefined;
        return grad ? () => f(p, t, rt.output(0), n, dloss![0]) : () => {
          out[0] = f(p, t, n);
        };
      },
    };
  };
}

/**
 * AdamW: w, m, v copied to their outputs (unless they share a slot, see
 * `inPlaceState` in layout.ts), then updated there in place.
 */
function adamW(info: NodeInfo): Kernel | undefined {
  if (!isF32(info, 0, 1, 2, 3, 4)) return undefined;
  const { attrs } = info.node;
  const [b1, b2] = [
    floatAttr(attrs, "beta1", 0.9),
    floatAttr(attrs, "beta2", 0.999),
  ];
  const eps = floatAttr(attrs, "epsilon", 1e-8);
  const wd = floatAttr(attrs, "weight_decay", 0);
  const n = length(info, 0);
  return {
    async build(rt): Promise<Step> {
      const f = await loadSplit(
        rt,
        "adamw",
        (o) => generateAdamW(o),
        elementwiseSplit(4, [0, 1, 2, 3]),
      );
      const bytes = new Uint8Array(rt.memory.buffer);
      const lr = rt.inputView(4);
      const step = rt.inputView(5);
      const moves = [0, 2, 3].map((i, o) => [rt.input(i), rt.output(o)]);
      const [w, g, m, v] = [
        rt.output(0),
        rt.input(1),
        rt.output(1),
        rt.output(2),
      ];
      return () => {
        for (const [src, dst] of moves) {
          // In place when the layout gave the state and its next one slot.
          if (src !== dst) bytes.copyWithin(dst, src, src + 4 * n);
        }
        f(w, g, m, v, n, lr[0], b1, b2, eps, wd, step[0] + 1, wd !== 0 ? 1 : 0);
      };
    },
  };
}

/** The f32 WebAssembly kernels. */
export const f32Kernels: KernelTable = {
  LayerNorm: layerNorm,
  LayerNormGrad: layerNormGrad,
  Softmax: softmax,
  SoftmaxGrad: softmaxGrad,
  Gelu: unary("gelu_fwd", exactGelu),
  GeluGrad: pointwiseGrad("gelu_bwd", exactGelu),
  Tanh: unary("tanh_fwd", () => true),
  TanhGrad: pointwiseGrad("tanh_bwd", () => true),
  Erf: unary("erf", () => true),
  Gather: embedding,
  GatherGrad: embeddingGrad,
  SoftmaxCrossEntropy: crossEntropy(false),
  SoftmaxCrossEntropyGrad: crossEntropy(true),
  MeanSquaredError: mse(false),
  MeanSquaredErrorGrad: mse(true),
  AdamW: adamW,
};
