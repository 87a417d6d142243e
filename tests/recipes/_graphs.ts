/**
 * Small graphs for the recipe tests: a two-layer MLP with its backward (so
 * the second layer has dX, dW and a computed activation), and a single
 * product whose activation holds planted outliers.
 *
 * @module
 */

import { execute } from "../../src/executor/execute.ts";
import { type Graph, makeGraph, makeNode } from "../../src/ir/graph.ts";
import { scalar, type Tensor, tensor } from "../../src/ir/tensor.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import { inferShapes } from "../../src/passes/infer_shapes.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";

/** A seeded generator of roughly normal numbers (sum of uniforms). */
export function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return () => (u() + u() + u() + u() - 2) * Math.sqrt(3);
}

/** An f32 tensor of `scale`·N(0,1) values. */
export function randomTensor(
  shape: number[],
  seed: number,
  scale = 1,
): Tensor {
  const next = normals(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor("f32", shape, Array.from({ length: n }, () => scale * next()));
}

/**
 * x[6,16] → /l1/MatMul (w1) → Gelu → /l2/MatMul (w2) → cross-entropy, with
 * the gradients of w1 and w2; `step` is an input for stochastic seeds.
 */
export function twoLayerGraph(): Graph {
  const w1 = randomTensor([16, 12], 1, 0.8);
  const w2 = randomTensor([12, 4], 2, 0.5);
  const nodes = [
    makeNode("MatMul", "/l1/MatMul", ["x", "w1"], ["h"]),
    makeNode("Gelu", "/act/Gelu", ["h"], ["a"]),
    makeNode("MatMul", "/l2/MatMul", ["a", "w2"], ["y"]),
    makeNode("SoftmaxCrossEntropy", "/loss", ["y", "labels"], ["loss"]),
  ];
  const forward = inferShapes.run(
    makeGraph({
      name: "two_layers",
      inputs: ["x", "labels", "step"],
      outputs: ["loss"],
      constants: [["w1", w1], ["w2", w2]],
      nodes,
      types: [
        ["x", { dtype: "f32", shape: [6, 16] }],
        ["labels", { dtype: "i64", shape: [6] }],
        ["step", { dtype: "i64", shape: [] }],
      ],
    }),
    DEFAULT_OPTIONS,
  );
  return autodiff(forward, { loss: "loss", wrt: ["w1", "w2"] });
}

/** Feeds of {@linkcode twoLayerGraph}: x with two planted outliers. */
export function twoLayerFeeds(step = 0): Map<string, Tensor> {
  const x = randomTensor([6, 16], 3);
  x.data[5] = 40;
  x.data[16 + 9] = -23;
  return new Map([
    ["x", x],
    ["labels", tensor("i64", [6], [0, 1, 2, 3, 1, 0])],
    ["step", scalar("i64", step)],
  ]);
}

/** Runs `graph` on the two-layer feeds, keeping the values the tests check. */
export function runTwoLayer(graph: Graph, step = 0): Map<string, Tensor> {
  return execute(graph, twoLayerFeeds(step), ["a", "y", "y@grad", "a@grad"]);
}
