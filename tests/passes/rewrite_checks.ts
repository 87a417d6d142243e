/**
 * Helpers for the tests of value-preserving rewrites (gamma migration,
 * SmoothQuant, LLM.int8()): the inputs they run on — a golden graph with
 * random feeds, or a whole model fused as the passes expect with real
 * sentences — and how far a rewrite moved each output, measured as the
 * ONNX Runtime match does (relative ∞-norm).
 */

import { importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import { inputSizes, realFeeds } from "../models/model_inputs.ts";
import { GOLDEN_DIR } from "./golden.ts";

/** The `before` graph of the golden test of pass `name`. */
export function goldenBefore(name: string): Graph {
  return parseGraph(Deno.readTextFileSync(`${GOLDEN_DIR}${name}.before.ir`));
}

/** Uniform ±3 f32 values for every input of `graph`, drawn from `next`. */
export function uniformFeeds(
  graph: Graph,
  next: () => number,
): Map<string, Tensor> {
  return new Map(graph.inputs.map((name) => {
    const shape = graph.types.get(name)!.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    return [
      name,
      tensor("f32", shape, Array.from({ length: n }, () => 6 * next() - 3)),
    ];
  }));
}

/**
 * The ONNX model at `path` through the forward pipeline (LayerNorms fused,
 * types static), with feeds of MRPC dev sentence pairs.
 */
export async function fusedModel(
  path: string,
): Promise<{ fused: Graph; feeds: Map<string, Tensor> }> {
  const { graph } = importOnnxFile(path);
  const feeds = await realFeeds(path, graph);
  const fused = runPipeline(
    graph,
    { ...inputSizes(path, graph), dims: {} },
    FORWARD_PIPELINE,
  );
  return { fused, feeds };
}

/** ∞-norm(after − before) / ∞-norm(before) of every output of `before`. */
export function outputChanges(
  before: Map<string, Tensor>,
  after: Map<string, Tensor>,
): [string, number][] {
  return [...before].map(([output, t]) => {
    let diff = 0;
    let scale = 0;
    t.data.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(after.get(output)!.data[i] - v));
      scale = Math.max(scale, Math.abs(v));
    });
    return [output, diff / (scale || 1)];
  });
}

/** The largest of {@linkcode outputChanges} (0 with no outputs). */
export function worstChange(
  before: Map<string, Tensor>,
  after: Map<string, Tensor>,
): number {
  return Math.max(0, ...outputChanges(before, after).map(([, c]) => c));
}
