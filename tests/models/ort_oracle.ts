/**
 * The whole-model oracle: a model compiled by our pipeline and run in the
 * reference executor, against onnxruntime-node on the same real inputs.
 * Used by the tests (which assert) and by `bench/ort_match.ts` (which
 * reports).
 *
 * @module
 */

import onnx from "onnx-proto";
import * as ort from "onnxruntime-node";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Graph } from "../../src/ir/graph.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import { inputSizes, realFeeds } from "./model_inputs.ts";

const ORT_TYPES: Record<string, string> = {
  i64: "int64",
  i32: "int32",
  f32: "float32",
  bool: "bool",
};

function toOrt(t: Tensor): ort.Tensor {
  const values = Array.from(t.data as ArrayLike<number>);
  const data = t.dtype === "i64"
    ? BigInt64Array.from(values, (v) => BigInt(v))
    : t.data;
  return new ort.Tensor(ORT_TYPES[t.dtype] as "int64", data as BigInt64Array, [
    ...t.shape,
  ]);
}

/**
 * Relative error in the ∞-norm: max|a−b| / max|b|. Per-element ratios are
 * meaningless for elements near zero, where f32 accumulation-order noise
 * (~1e-7 absolute) dominates.
 */
export function relativeError(actual: Tensor, expected: ort.Tensor): number {
  const b = expected.data as Float32Array;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(actual.data[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}

/**
 * The model bytes ONNX Runtime 1.30 will load: two PyTorch 1.3 fixtures
 * concatenate rank-0 constants with 1-D tensors, which older runtimes
 * accepted and 1.30 refuses. Our importer repairs that (with a warning) by
 * making those constants 1-D; the oracle gets the same repair.
 */
function loadableBytes(model: string): Uint8Array {
  const proto = onnx.onnx.ModelProto.decode(Deno.readFileSync(model));
  const graph = proto.graph!;
  const concatInputs = new Set(
    graph.node!.filter((n) => n.opType === "Concat").flatMap((n) =>
      n.input ?? []
    ),
  );
  const scalars = [
    ...graph.initializer!.filter((t) => concatInputs.has(t.name!)),
    ...graph.node!.filter((n) =>
      n.opType === "Constant" && concatInputs.has(n.output![0])
    ).map((n) => n.attribute![0].t!),
  ].filter((t) => (t.dims ?? []).length === 0);
  for (const t of scalars) t.dims = [1];
  return onnx.onnx.ModelProto.encode(proto).finish();
}

/** One output of one model compared. */
export interface OutputComparison {
  /** Output name. */
  readonly name: string;
  /** Our shape. */
  readonly shape: readonly number[];
  /** ONNX Runtime's shape. */
  readonly ortShape: readonly number[];
  /** ∞-norm relative error. */
  readonly relativeError: number;
}

/** A model compiled, run and compared. */
export interface ModelComparison {
  /** The imported graph. */
  readonly imported: Graph;
  /** The graph after the forward pipeline (verified after every pass). */
  readonly compiled: Graph;
  /** Importer warnings. */
  readonly warnings: readonly string[];
  /** Batch and sequence length used. */
  readonly sizes: { batch: number; seq: number };
  /** Every graph output compared. */
  readonly outputs: readonly OutputComparison[];
}

/** Imports, compiles and runs `model` on real sentences, and runs ONNX Runtime on the same feeds. */
export async function compareWithOrt(model: string): Promise<ModelComparison> {
  const { graph, warnings } = importOnnxFile(model);
  const feeds = await realFeeds(model, graph);
  const sizes = inputSizes(model, graph);
  const compiled = runPipeline(
    graph,
    { ...sizes, dims: {} },
    FORWARD_PIPELINE,
    undefined,
    true,
  );
  const ours = execute(compiled, feeds);
  const session = await ort.InferenceSession.create(loadableBytes(model), {
    logSeverityLevel: 3,
  });
  const theirs = await session.run(
    Object.fromEntries([...feeds].map(([k, t]) => [k, toOrt(t)])),
  );
  const outputs = graph.outputs.map((name) => ({
    name,
    shape: ours.get(name)!.shape,
    ortShape: theirs[name].dims.map(Number),
    relativeError: relativeError(ours.get(name)!, theirs[name]),
  }));
  return { imported: graph, compiled, warnings, sizes, outputs };
}
