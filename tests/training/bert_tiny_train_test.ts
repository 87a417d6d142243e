/**
 * The whole training chain on a real model: bert-tiny imported from ONNX,
 * the forward pipeline, a cross-entropy loss, the autodiff pass, the
 * optimizer pass and the reference trainer. On one fixed batch the loss
 * must fall (the model starts to memorise it). The reference executor is
 * deterministic, so the thresholds are not flaky.
 */

import assert from "node:assert/strict";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { type Graph, makeNode, withParts } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { trainableParameters } from "../../src/passes/attach_head.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import { appendOptimizer } from "../../src/passes/optimizer.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { propagate } from "../../src/passes/propagate.ts";
import { train } from "../../src/training/reference_trainer.ts";
import { initialTrainingState } from "../../src/training/state.ts";
import { SHARED } from "../models/model_inputs.ts";

const MODEL = `${SHARED}models/bert-tiny-random/model.onnx`;

const BATCH = new Map<string, Tensor>([
  [
    "input_ids",
    tensor("i64", [2, 8], [
      ...[101, 7592, 2088, 2003, 1037, 3231, 102, 0],
      ...[101, 2129, 2024, 2017, 1029, 102, 2307, 102],
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

/** bert-tiny for sequence classification with a loss, and its gradients. */
function lossAndGradients(): { graph: Graph; params: string[] } {
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
  const graph = withParts(joined, { types: propagate(joined).types });
  const params = trainableParameters(graph, "loss");
  return { graph: autodiff(graph, { loss: "loss", wrt: params }), params };
}

Deno.test("bert-tiny: autodiff + optimizer + reference trainer learn a batch", () => {
  const { graph, params } = lossAndGradients();
  const stepGraph = appendOptimizer(graph, {
    lr: 1e-3,
    warmupSteps: 1,
    totalSteps: 20,
    weightDecay: 0.01,
  });
  verify(stepGraph, { requireStatic: true });
  const adam = stepGraph.nodes.filter((n) => n.op === "AdamW");
  assert.equal(adam.length, params.length);
  const decay = (p: string) =>
    adam.find((n) => n.name === `optimizer/AdamW/${p}`)!.attrs.weight_decay
      .value;
  assert.equal(decay("bert.encoder.layer.1.output.LayerNorm.weight"), 0);
  assert.equal(decay("bert.encoder.layer.0.attention.self.value.bias"), 0);
  assert.equal(decay("classifier.weight"), 0.01);

  const losses: number[] = [];
  const norms: number[] = [];
  train(stepGraph, initialTrainingState(graph, 0), 8, () => BATCH, (r) => {
    losses.push(r.outputs.get("loss")!.data[0]);
    norms.push(r.outputs.get("grad_norm")!.data[0]);
  });
  assert.ok(norms.every((n) => Number.isFinite(n) && n > 0));
  // Step 0 runs at lr 0 (warm-up), so steps 0 and 1 see the same weights.
  assert.equal(losses[1], losses[0]);
  assert.equal(Math.min(...losses), losses[7]);
  assert.ok(
    losses[7] < losses[0] * 0.9,
    `loss went from ${losses[0]} to ${losses[7]}: ${losses.join(", ")}`,
  );
});
