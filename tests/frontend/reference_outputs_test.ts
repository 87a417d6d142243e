/**
 * End-to-end checks of the importer's semantics: the shared models, imported
 * and run on the reference executor, reproduce the outputs ONNX Runtime
 * (fixtures' test_data_set_0) or PyTorch (reference_io.json) computed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { readTensorProtoFile } from "../../src/frontend/tensor_proto.ts";
import { execute } from "../../src/executor/execute.ts";
import type { DType } from "../../src/ir/dtype.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";

const MODELS = new URL("../../../shared/models/", import.meta.url).pathname;
const FIXTURES = join(MODELS, "hf-export-fixtures");

/** Largest |a − e| − rel·|e| over the elements (≤ abs means a match). */
function assertClose(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, what);
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i], e = expected.data[i];
    assert.ok(
      Math.abs(a - e) <= 1e-4 + 1e-3 * Math.abs(e),
      `${what}[${i}] = ${a}, expected ${e}`,
    );
  }
}

/** `<dir>/<kind>_K.pb` by the name stored in each file. */
function readSet(dir: string, kind: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const e of Deno.readDirSync(dir)) {
    if (e.name.startsWith(`${kind}_`)) {
      const { name, tensor } = readTensorProtoFile(join(dir, e.name));
      out.set(name, tensor);
    }
  }
  return out;
}

const sets = [...Deno.readDirSync(FIXTURES)]
  .filter((e) => e.isDirectory && e.name.endsWith(".test_data_set_0"))
  .map((e) => e.name)
  .sort();

Deno.test("four fixtures ship ONNX Runtime reference outputs", () => {
  assert.equal(sets.length, 4);
});

for (const set of sets) {
  const model = set.replace(".test_data_set_0", ".onnx");
  Deno.test(`${model} reproduces ONNX Runtime's outputs`, () => {
    const { graph } = importOnnxFile(join(FIXTURES, model));
    const feeds = readSet(join(FIXTURES, set), "input");
    const expected = readSet(join(FIXTURES, set), "output");
    const outputs = execute(graph, feeds);
    for (const [name, e] of expected) {
      assertClose(outputs.get(name)!, e, `${model} ${name}`);
    }
  });
}

const DTYPES: Record<string, DType> = { int64: "i64", float32: "f32" };

for (
  const model of [
    "bert-tiny-random/model.onnx",
    "tessera-bert-mini/encoder.onnx",
  ]
) {
  Deno.test(`${model} reproduces PyTorch's reference outputs`, () => {
    const path = join(MODELS, model);
    const ref: Record<
      string,
      { shape: number[]; dtype: string; data: number[] }
    > = JSON.parse(
      Deno.readTextFileSync(join(path, "..", "reference_io.json")),
    );
    const asTensor = (k: string) =>
      tensor(DTYPES[ref[k].dtype], ref[k].shape, ref[k].data);
    const { graph } = importOnnxFile(path);
    const feeds = new Map(graph.inputs.map((name) => [name, asTensor(name)]));
    const outputs = execute(graph, feeds);
    for (const name of graph.outputs) {
      assertClose(outputs.get(name)!, asTensor(name), `${model} ${name}`);
    }
  });
}
