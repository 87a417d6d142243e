/**
 * Training-mode dropout with reproducible masks: `DropoutTrain` and its
 * backward `DropoutGrad`.
 *
 * The mask is a pure function of (seed, stream, element index) — a
 * counter-based hash rather than a stateful generator — so a run can be
 * replayed, a backward pass can recompute the mask, and the WASM kernel can
 * produce the same bits as this reference. `seed` is an input (the training
 * step, so every step draws new masks and a resumed run draws the same
 * ones); `stream` is a compile-time attribute, one per dropout site, so
 * sites of the same step draw independent masks. Element k is kept iff
 * `dropoutHash(seed, k, stream) / 2^32 ≥ ratio`.
 *
 * @module
 */

import { floatAttr, intAttr, type Node } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { inputTensor, inputType } from "./dims.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** murmur3's 32-bit finaliser: a bijection that mixes every input bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The 32-bit hash of element `index` under `seed` (an integer up to 2^53,
 * split into its low and high 32-bit words) in stream `stream` (a 32-bit
 * id). The stream is folded into the seed's high word: seeds below 2^32 —
 * every training step — get a separate key per stream, and stream 0 is the
 * plain seed.
 */
export function dropoutHash(seed: number, index: number, stream = 0): number {
  return dropoutHashOf(dropoutKey(seed, stream), index);
}

/** The per-(seed, stream) key of {@linkcode dropoutHash}, once per mask. */
export function dropoutKey(seed: number, stream = 0): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  return fmix32(lo ^ fmix32((hi ^ stream) ^ 0x9e3779b9));
}

/** {@linkcode dropoutHash} of element `index` under a {@linkcode dropoutKey}. */
export function dropoutHashOf(key: number, index: number): number {
  return fmix32(key ^ Math.imul(index >>> 0, 0x9e3779b9) ^ 0x7f4a7c15);
}

/** The `ratio` attribute, checked to lie in [0, 1). */
function ratioOf(node: Node): number {
  const ratio = floatAttr(node.attrs, "ratio", 0.5);
  if (!(ratio >= 0 && ratio < 1)) {
    throw new OpError(node, `ratio ${ratio} is not in [0, 1).`);
  }
  return ratio;
}

/** The `stream` attribute: a 32-bit id (default 0). */
export function streamOf(node: Node): number {
  return intAttr(node.attrs, "stream", 0) >>> 0;
}

/**
 * DropoutTrain(x, seed) {ratio, stream} → y, mask: each element kept with
 * probability 1 − ratio and scaled by 1/(1 − ratio), `mask` (bool) true
 * where kept.
 */
const dropoutTrain: OpDef = {
  name: "DropoutTrain",
  summary:
    "Training dropout: mask from a hash of (seed, stream, index), y = x·mask/(1−ratio).",
  inputs: [2, 2],
  outputs: [2, 2],
  infer(ctx) {
    const x = inputType(ctx, 0);
    const seed = inputType(ctx, 1);
    ratioOf(ctx.node);
    if (seed.dtype !== "i64" || seed.shape.length !== 0) {
      throw new OpError(ctx.node, "seed must be an i64 scalar.");
    }
    return [x, { dtype: "bool", shape: x.shape }];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const seed = inputTensor(node, inputs, 1).data[0];
    const ratio = ratioOf(node);
    const stream = streamOf(node);
    const threshold = ratio * 2 ** 32;
    const keep = Array.from(
      x.data,
      (_, k) => dropoutHash(seed, k, stream) >= threshold ? 1 : 0,
    );
    const y = Array.from(x.data, (v, k) => keep[k] ? v / (1 - ratio) : 0);
    return [tensor(x.dtype, x.shape, y), tensor("bool", x.shape, keep)];
  },
};

/** DropoutGrad(dy, mask) {ratio}: dx = dy·mask/(1 − ratio). */
const dropoutGrad: OpDef = {
  name: "DropoutGrad",
  summary: "Backward of DropoutTrain: dy·mask/(1−ratio).",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const dy = inputType(ctx, 0);
    ratioOf(ctx.node);
    if (inputType(ctx, 1).dtype !== "bool") {
      throw new OpError(ctx.node, "mask must be bool.");
    }
    return [dy];
  },
  evaluate(inputs, node) {
    const dy = inputTensor(node, inputs, 0);
    const mask = inputTensor(node, inputs, 1);
    if (mask.data.length !== dy.data.length) {
      throw new OpError(node, "dy and mask differ in size.");
    }
    const scale = 1 / (1 - ratioOf(node));
    const dx = Array.from(dy.data, (g, k) => mask.data[k] ? g * scale : 0);
    return [tensor(dy.dtype, dy.shape, dx)];
  },
};

/** The training-dropout operators. */
export const dropoutTrainOps: readonly OpDef[] = [dropoutTrain, dropoutGrad];
