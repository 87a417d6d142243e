/**
 * The whole bert-tiny graph against central differences: the imported
 * BertForSequenceClassification (2 labels) after the forward pipeline
 * (batch 2, seq 8), a SoftmaxCrossEntropy loss on its logits with fixed
 * labels, autodiff with respect to every parameter, and 22 sampled elements
 * (the largest-gradient one and a random one of 11 parameters spread over
 * embeddings, attention, FFN, LayerNorm, pooler and classifier).
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import {
  type Graph,
  makeGraph,
  makeNode,
  type ValueType,
  withParts,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { trainableParameters } from "../../src/passes/attach_head.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { propagate } from "../../src/passes/propagate.ts";
import { rng } from "../ir/random_graph.ts";
import { SHARED } from "../models/model_inputs.ts";
import { compareSamples, type Sample } from "./autodiff_fd.ts";

const MODEL = `${SHARED}models/bert-tiny-random/model.onnx`;

/** Real-looking ids, a padded first row and a sentence-pair second row. */
const FEEDS = new Map<string, Tensor>([
  [
    "input_ids",
    tensor("i64", [2, 8], [
      101,
      7592,
      2088,
      2003,
      1037,
      3231,
      102,
      0,
      101,
      2129,
      2024,
      2017,
      1029,
      102,
      2307,
      102,
    ]),
  ],
  [
    "attention_mask",
    tensor("i64", [2, 8], [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]),
  ],
  [
    "token_type_ids",
    tensor("i64", [2, 8], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
  ],
  ["labels", tensor("i64", [2], [1, 0])],
]);

/** The forward graph with the loss appended. */
function lossGraph(): Graph {
  const forward = runPipeline(importOnnxFile(MODEL).graph, {
    batch: 2,
    seq: 8,
    dims: {},
  });
  const joined = withParts(forward, {
    inputs: [...forward.inputs, "labels"],
    outputs: ["loss"],
    nodes: [
      ...forward.nodes,
      makeNode("SoftmaxCrossEntropy", "/loss", ["logits", "labels"], ["loss"]),
    ],
    types: [...forward.types, ["labels", { dtype: "i64", shape: [2] }]],
  });
  return withParts(joined, { types: propagate(joined).types });
}

/** The same graph computing in f64 (constants, types and casts widened). */
function widened(graph: Graph): Graph {
  const wide = (t: ValueType): ValueType =>
    t.dtype === "f32" ? { ...t, dtype: "f64" } : t;
  return makeGraph({
    ...graph,
    constants: [...graph.constants].map((
      [n, t],
    ) => [n, t.dtype === "f32" ? tensor("f64", t.shape, t.data) : t]),
    types: [...graph.types].map(([n, t]) => [n, wide(t)]),
    nodes: graph.nodes.map((n) =>
      n.op === "Cast" && n.attrs.to?.kind === "int" && n.attrs.to.value === 1
        ? makeNode("Cast", n.name, n.inputs, n.outputs, {
          to: { kind: "int", value: 11 },
        })
        : n
    ),
  });
}

/** The parameter each sampled layer reads, found by name or by its node. */
function sampledParams(graph: Graph): string[] {
  const weightOf = (node: string) =>
    graph.nodes.find((n) => n.name === node)!.inputs[1];
  return [
    "bert.embeddings.word_embeddings.weight",
    "bert.embeddings.token_type_embeddings.weight",
    "/bert/embeddings/position_embeddings/Gather_output_0",
    "bert.embeddings.LayerNorm.weight",
    weightOf("/bert/encoder/layer.0/attention/self/query/MatMul"),
    "bert.encoder.layer.0.attention.self.value.bias",
    weightOf("/bert/encoder/layer.0/intermediate/dense/MatMul"),
    "bert.encoder.layer.1.output.LayerNorm.bias",
    "bert.pooler.dense.weight",
    "classifier.weight",
    "classifier.bias",
  ];
}

/** Autodiff on `graph`, then the sampled elements against differences. */
function check(graph: Graph, step: number, floor: number): Sample[] {
  const params = trainableParameters(graph, "loss");
  const backward = autodiff(graph, { loss: "loss", wrt: params });
  verify(backward, { requireStatic: true });
  const out = execute(backward, FEEDS);
  const gradients = new Map(params.map((p) => [p, out.get(`${p}@grad`)!]));
  const next = rng(5);
  const picks = sampledParams(graph).flatMap((param) => {
    const g = gradients.get(param)!.data;
    let largest = 0;
    g.forEach((v, i) => {
      if (Math.abs(v) > Math.abs(g[largest])) largest = i;
    });
    return [largest, Math.floor(next() * g.length)].map((index) => ({
      param,
      index,
    }));
  });
  return compareSamples(graph, FEEDS, "loss", gradients, picks, step, floor);
}

const GRAPH = lossGraph();

Deno.test("bert-tiny: every parameter is differentiated", () => {
  const params = trainableParameters(GRAPH, "loss");
  // 5 embeddings-and-LayerNorm tensors, 16 per layer × 2, pooler 2, classifier 2.
  assert.equal(params.length, 41);
  for (const p of sampledParams(GRAPH)) assert.ok(params.includes(p), p);
});

Deno.test("bert-tiny in f32: sampled gradients within 1e-2 of central differences", () => {
  // The f32 loss (≈0.69) is quantised to ~6e-8, so a difference over
  // 2·1e-2 carries ~3e-6 of noise: 3e-3 of a gradient at the 1e-3 floor.
  const samples = check(GRAPH, 1e-2, 1e-3);
  assert.equal(samples.length, 22);
  const worst = Math.max(...samples.map((s) => s.error));
  assert.ok(worst < 1e-2, `max relative error ${worst.toExponential(2)}`);
});

Deno.test("bert-tiny in f64: sampled gradients within 1e-5 of central differences", () => {
  const samples = check(widened(GRAPH), 1e-5, 1e-6);
  const worst = Math.max(...samples.map((s) => s.error));
  assert.ok(worst < 1e-5, `max relative error ${worst.toExponential(2)}`);
});
