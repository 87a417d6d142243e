/**
 * Every ONNX model under shared/models imports, specialises to static
 * shapes, and runs in the reference executor with outputs matching
 * onnxruntime-node on real sentences.
 */

import assert from "node:assert/strict";
import onnx from "onnx-proto";
import * as ort from "onnxruntime-node";
import { relative } from "node:path";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import { findModels, inputSizes, realFeeds, SHARED } from "./model_inputs.ts";

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
function relativeError(actual: Tensor, expected: ort.Tensor): number {
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

for (const model of findModels()) {
  const name = relative(SHARED, model);
  Deno.test(`${name} matches onnxruntime-node on real sentences`, async () => {
    const { graph, warnings } = await importOnnxFile(model);
    if (name.includes("nonconforming/")) {
      assert.ok(
        warnings.length > 0,
        "a nonconforming model imports with a warning",
      );
    }
    const feeds = await realFeeds(model, graph);
    const compiled = runPipeline(
      graph,
      { ...inputSizes(model, graph), dims: {} },
      FORWARD_PIPELINE,
      undefined,
      true,
    );
    verify(compiled, { requireStatic: true });
    assert.ok(
      !compiled.nodes.some((n) => n.op === "Shape"),
      "a Shape node survived folding",
    );
    const ours = execute(compiled, feeds);
    const session = await ort.InferenceSession.create(loadableBytes(model));
    const theirs = await session.run(
      Object.fromEntries([...feeds].map(([k, t]) => [k, toOrt(t)])),
    );
    for (const output of graph.outputs) {
      const expected = theirs[output];
      const actual = ours.get(output)!;
      assert.deepEqual(
        [...actual.shape],
        expected.dims.map(Number),
        `${output} shape`,
      );
      const error = relativeError(actual, expected);
      assert.ok(
        error <= 1e-4,
        `${output}: relative error ${error.toExponential(2)} > 1e-4`,
      );
    }
  });
}
