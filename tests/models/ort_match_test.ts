/**
 * Every ONNX model under shared/models imports, specialises to static
 * shapes, and runs in the reference executor with outputs matching
 * onnxruntime-node on real sentences.
 */

import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { relative } from "node:path";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import { findModels, inputSizes, realFeeds, SHARED } from "./model_inputs.ts";

const ORT_TYPES: Record<string, string> = { i64: "int64", i32: "int32", f32: "float32", bool: "bool" };

function toOrt(t: Tensor): ort.Tensor {
  const values = Array.from(t.data as ArrayLike<number>);
  const data = t.dtype === "i64" ? BigInt64Array.from(values, (v) => BigInt(v)) : t.data;
  return new ort.Tensor(ORT_TYPES[t.dtype] as "int64", data as BigInt64Array, [...t.shape]);
}

/** Largest |a−b| / (|b| + 1e-3·max|b|) over the elements: relative error with a floor for near-zero elements. */
function relativeError(actual: Tensor, expected: ort.Tensor): number {
  const b = expected.data as Float32Array;
  const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(actual.data[i] - b[i]) / (Math.abs(b[i]) + 1e-3 * scale + 1e-30));
  }
  return worst;
}

for (const model of findModels()) {
  const name = relative(SHARED, model);
  Deno.test(`${name} matches onnxruntime-node on real sentences`, async () => {
    const { graph, warnings } = await importOnnxFile(model);
    assert.equal(warnings.length > 0, name.includes("nonconforming/"), `warnings: ${warnings.join("; ")}`);
    const feeds = await realFeeds(model, graph);
    const compiled = runPipeline(graph, { ...inputSizes(graph), dims: {} }, FORWARD_PIPELINE, undefined, true);
    verify(compiled, { requireStatic: true });
    assert.ok(!compiled.nodes.some((n) => n.op === "Shape"), "a Shape node survived folding");
    const ours = execute(compiled, feeds);
    const session = await ort.InferenceSession.create(model);
    const theirs = await session.run(Object.fromEntries([...feeds].map(([k, t]) => [k, toOrt(t)])));
    for (const output of graph.outputs) {
      const expected = theirs[output];
      const actual = ours.get(output)!;
      assert.deepEqual([...actual.shape], expected.dims.map(Number), `${output} shape`);
      const error = relativeError(actual, expected);
      assert.ok(error <= 1e-4, `${output}: relative error ${error.toExponential(2)} > 1e-4`);
    }
  });
}
