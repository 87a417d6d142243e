/**
 * Training-step graphs for the engine tests and benchmark: an imported model
 * through the forward pipeline (its parameters preserved), a loss, autodiff
 * and the AdamW optimizer.
 *
 * @module
 */

import { isFloat } from "../../src/ir/dtype.ts";
import { type Graph, makeNode, withParts } from "../../src/ir/graph.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { attachHead } from "../../src/passes/attach_head.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import {
  appendOptimizer,
  initialOptimizerState,
} from "../../src/passes/optimizer.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { propagate } from "../../src/passes/propagate.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { trainableParameters } from "../../src/passes/attach_head.ts";

/** A training step and the first values of its optimizer state. */
export interface TrainingStep {
  /** The training-step graph (loss, grad_norm, lr, then `N@next` outputs). */
  readonly graph: Graph;
  /** Initial values of the state inputs (parameters and AdamW moments). */
  readonly state: Map<string, Tensor>;
  /** The trained parameters. */
  readonly params: readonly string[];
}

/** Float constants with more than one element: what a fine-tune trains. */
function parameterNames(graph: Graph): string[] {
  return [...graph.constants].filter(([, t]) =>
    isFloat(t.dtype) && t.data.length > 1
  ).map(([name]) => name);
}

/** Autodiff and AdamW on a graph whose output `loss` is the loss. */
function withOptimizer(graph: Graph): TrainingStep {
  const params = trainableParameters(graph, "loss");
  const backward = autodiff(graph, { loss: "loss", wrt: params });
  const options = {
    lr: 1e-3,
    totalSteps: 10,
    warmupSteps: 2,
    weightDecay: 0.01,
  };
  return {
    graph: appendOptimizer(backward, options),
    state: initialOptimizerState(backward, params),
    params,
  };
}

/**
 * A classifier's training step: `model` must output `logits` [B, C]; labels
 * come in as input `labels` (i64 [B]).
 */
export function classifierStep(
  model: string,
  batch: number,
  seq: number,
): TrainingStep {
  const imported = importOnnxFile(model).graph;
  const forward = runPipeline(imported, {
    batch,
    seq,
    dims: {},
    preserve: parameterNames(imported),
  });
  const joined = withParts(forward, {
    inputs: [...forward.inputs, "labels"],
    outputs: ["loss"],
    nodes: [
      ...forward.nodes,
      makeNode("SoftmaxCrossEntropy", "/loss", ["logits", "labels"], ["loss"]),
    ],
    types: [...forward.types, ["labels", { dtype: "i64", shape: [batch] }]],
  });
  return withOptimizer(withParts(joined, { types: propagate(joined).types }));
}

/** An encoder's training step with a `classification:2` head attached. */
export function encoderStep(
  model: string,
  batch: number,
  seq: number,
): TrainingStep {
  const imported = importOnnxFile(model).graph;
  const forward = runPipeline(imported, {
    batch,
    seq,
    dims: {},
    preserve: parameterNames(imported),
  });
  return withOptimizer(attachHead(forward, "classification:2").graph);
}
