/**
 * A tiny trainable model for the optimizer and trainer tests: softmax
 * regression on three separable Gaussian blobs, with its gradient graph
 * written by hand so these tests do not depend on the autodiff pass.
 *
 * ```text
 * logits = X·W + b                  loss = −Σ(Y ⊙ log_softmax(logits)) / B
 * dlogits = (softmax(logits) − Y) / B
 * W@grad = Xᵀ·dlogits               b@grad = Σ_rows dlogits
 * ```
 *
 * @module
 */

import { Rng } from "../../runtime/data/rng.ts";
import { attr, type Graph, makeGraph, makeNode } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import { inferShapes } from "../../src/passes/infer_shapes.ts";
import type { Batch } from "../../src/training/reference_trainer.ts";

/** Features per example. */
export const FEATURES = 4;
/** Classes. */
export const CLASSES = 3;
/** Examples per batch. */
export const BATCH = 16;
/** Examples in the data set: six batches an epoch. */
export const EXAMPLES = 96;
/** The weight and bias names (HF's, so the bias is not decayed). */
export const WEIGHT = "classifier.weight";
/** See {@linkcode WEIGHT}. */
export const BIAS = "classifier.bias";

/** The forward+backward graph: outputs `loss`, `W@grad`, `b@grad`. */
export function softmaxRegression(): Graph {
  const init = new Rng(7);
  const weights = Array.from(
    { length: FEATURES * CLASSES },
    () => (init.nextFloat() - 0.5) * 0.1,
  );
  const n = (op: string, name: string, ins: string[], attrs = {}) =>
    makeNode(op, name, ins, [name], attrs);
  const graph = makeGraph({
    name: "softmax_regression",
    inputs: ["X", "Y"],
    outputs: ["loss", `${WEIGHT}@grad`, `${BIAS}@grad`],
    constants: [
      [WEIGHT, tensor("f32", [FEATURES, CLASSES], weights)],
      [BIAS, tensor("f32", [CLASSES])],
      ["inv_batch", tensor("f32", [], [1 / BATCH])],
      ["rows", tensor("i64", [1], [0])],
    ],
    nodes: [
      n("Gemm", "logits", ["X", WEIGHT, BIAS]),
      n("LogSoftmax", "log_probs", ["logits"], { axis: attr.int(-1) }),
      n("Mul", "picked", ["Y", "log_probs"]),
      n("ReduceSum", "total", ["picked"], { keepdims: attr.int(0) }),
      n("Neg", "neg_total", ["total"]),
      n("Mul", "loss", ["neg_total", "inv_batch"]),
      n("Softmax", "probs", ["logits"], { axis: attr.int(-1) }),
      n("Sub", "probs_minus_y", ["probs", "Y"]),
      n("Mul", "dlogits", ["probs_minus_y", "inv_batch"]),
      n("Gemm", `${WEIGHT}@grad`, ["X", "dlogits"], { transA: attr.int(1) }),
      n("ReduceSum", `${BIAS}@grad`, ["dlogits", "rows"], {
        keepdims: attr.int(0),
      }),
    ],
    types: [
      ["X", { dtype: "f32", shape: [BATCH, FEATURES] }],
      ["Y", { dtype: "f32", shape: [BATCH, CLASSES] }],
    ],
  });
  return inferShapes.run(graph, DEFAULT_OPTIONS);
}

/** The data set: features [EXAMPLES, FEATURES] and class labels. */
export interface DataSet {
  /** Row-major features. */
  readonly x: Float32Array;
  /** Class of each example. */
  readonly labels: readonly number[];
}

/** Three well-separated blobs, EXAMPLES/3 points each, fixed by `seed`. */
export function blobs(seed: number): DataSet {
  const rng = new Rng(seed);
  const x = new Float32Array(EXAMPLES * FEATURES);
  const labels: number[] = [];
  for (let i = 0; i < EXAMPLES; i++) {
    const c = i % CLASSES;
    labels.push(c);
    for (let f = 0; f < FEATURES; f++) {
      const center = f === c ? 3 : f === CLASSES ? -1 : 0;
      x[i * FEATURES + f] = center + (rng.nextFloat() - 0.5);
    }
  }
  return { x, labels };
}

/** The examples `rows` of `data` as feeds `X` and one-hot `Y`. */
export function feedsOf(data: DataSet, rows: readonly number[]): Batch {
  const x: number[] = [];
  const y = new Array<number>(rows.length * CLASSES).fill(0);
  rows.forEach((r, i) => {
    x.push(...data.x.subarray(r * FEATURES, (r + 1) * FEATURES));
    y[i * CLASSES + data.labels[r]] = 1;
  });
  return {
    X: tensor("f32", [rows.length, FEATURES], x),
    Y: tensor("f32", [rows.length, CLASSES], y),
  };
}

/**
 * The batch of `step`: a fresh permutation per epoch from `(seed, epoch)`,
 * so a resumed run sees exactly the batches an uninterrupted one does.
 */
export function batchAt(data: DataSet, step: number, seed: number): Batch {
  const perEpoch = EXAMPLES / BATCH;
  const order = new Rng(seed, Math.floor(step / perEpoch)).permutation(
    EXAMPLES,
  );
  const k = step % perEpoch;
  return feedsOf(data, order.slice(k * BATCH, (k + 1) * BATCH));
}

/** Fraction of `data` that weights `w` [FEATURES, CLASSES] and bias `b` classify right. */
export function accuracy(data: DataSet, w: Tensor, b: Tensor): number {
  let right = 0;
  for (let i = 0; i < EXAMPLES; i++) {
    const scores = Array.from({ length: CLASSES }, (_, c) => {
      let s = b.data[c];
      for (let f = 0; f < FEATURES; f++) {
        s += data.x[i * FEATURES + f] * w.data[f * CLASSES + c];
      }
      return s;
    });
    if (scores.indexOf(Math.max(...scores)) === data.labels[i]) right++;
  }
  return right / EXAMPLES;
}
