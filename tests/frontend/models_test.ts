import assert from "node:assert/strict";
import { join } from "node:path";
import onnx from "onnx-proto";
import { importOnnxFile } from "../../src/frontend/import_model.ts";

const MODELS = new URL("../../../shared/models/", import.meta.url).pathname;

/** Every .onnx file under `dir`, recursively, so added models are covered. */
function onnxFiles(dir: string): string[] {
  const files: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) files.push(...onnxFiles(path));
    else if (e.name.endsWith(".onnx")) files.push(path);
  }
  return files.sort();
}

const files = onnxFiles(MODELS);

Deno.test("the shared models folder holds the expected models", () => {
  // Six third-party fixtures and our two BERTs at the time of writing.
  assert.ok(files.length >= 8, `found only ${files.length} models`);
});

for (const file of files) {
  const label = file.slice(MODELS.length);
  Deno.test(`imports ${label}`, () => {
    const proto = onnx.onnx.ModelProto.decode(Deno.readFileSync(file))
      .graph as onnx.onnx.GraphProto;
    const { graph, warnings, opset } = importOnnxFile(file);
    assert.ok(opset >= 10 && opset <= 17);

    // Every initializer is a constant, and no graph input is one.
    for (const init of proto.initializer) {
      assert.ok(graph.constants.has(init.name!), `initializer ${init.name}`);
    }
    const initNames = new Set(proto.initializer.map((t) => t.name));
    assert.deepEqual(
      graph.inputs,
      proto.input.map((v) => v.name).filter((n) => !initNames.has(n)),
    );
    assert.deepEqual(graph.outputs, proto.output.map((v) => v.name));

    // Each non-Constant ONNX node appears once under its own name; Constant
    // nodes became constants.
    const constantNodes = proto.node.filter((n) => n.opType === "Constant");
    const others = proto.node.filter((n) => n.opType !== "Constant");
    const irNames = new Set(graph.nodes.map((n) => n.name));
    assert.equal(irNames.size, graph.nodes.length, "node names are unique");
    for (const n of others) if (n.name) assert.ok(irNames.has(n.name), n.name);
    // The only helper nodes come from Softmax-1/11 on a non-last axis, which
    // becomes Flatten → Softmax → Shape → Reshape (three extra nodes).
    const onnxFlattens = others.filter((n) => n.opType === "Flatten").length;
    const helpers = 3 *
      (graph.nodes.filter((n) => n.op === "Flatten").length - onnxFlattens);
    assert.equal(graph.nodes.length, others.length + helpers);
    for (const n of constantNodes) assert.ok(graph.constants.has(n.output![0]));
    assert.ok(
      graph.constants.size >= proto.initializer.length + constantNodes.length,
    );

    // Nodes are in topological order: every input is defined before use.
    const defined = new Set([...graph.inputs, ...graph.constants.keys()]);
    for (const n of graph.nodes) {
      for (const i of n.inputs) {
        assert.ok(i === "" || defined.has(i), `${n.name} reads ${i} early`);
      }
      n.outputs.forEach((o) => defined.add(o));
    }

    // Only the nonconforming fixture is reordered, and only ORT's shrunk
    // PyTorch exports need their scalar Concat operands repaired.
    const reordered = warnings.filter((w) =>
      /not in topological order.*reordered/.test(w)
    );
    const repaired = warnings.filter((w) =>
      /Concat nodes joined rank-0 constants/.test(w)
    );
    assert.equal(
      reordered.length,
      label.startsWith("hf-export-fixtures/nonconforming/") ? 1 : 0,
    );
    assert.equal(
      repaired.length,
      label.includes("ort-bert-squad-pytorch") ? 1 : 0,
    );
    assert.equal(
      warnings.length,
      reordered.length + repaired.length,
      warnings.join("; "),
    );

    // Graph input types come from the model's ValueInfo.
    for (const name of graph.inputs) {
      const t = graph.types.get(name)!;
      assert.ok(t.dtype === "i64" || t.dtype === "i32", `${name}: ${t.dtype}`);
      assert.equal(t.shape.length, 2);
    }
  });
}

Deno.test("the opset-17 BERT keeps LayerNormalization as IR LayerNorm", () => {
  const { graph } = importOnnxFile(join(MODELS, "bert-tiny-random/model.onnx"));
  assert.equal(graph.nodes.filter((n) => n.op === "LayerNorm").length, 5);
  assert.equal(
    graph.nodes.filter((n) => n.op === "LayerNormalization").length,
    0,
  );
});

Deno.test("Softmax-11 on the last axis of a 4-D score tensor stays one Softmax", () => {
  const { graph } = importOnnxFile(
    join(
      MODELS,
      "hf-export-fixtures/optimum-tiny-distilbert-sst2-opset11.onnx",
    ),
  );
  const softmax = graph.nodes.filter((n) => n.op === "Softmax");
  assert.equal(softmax.length, 2);
  assert.equal(graph.nodes.filter((n) => n.op === "Flatten").length, 0);
});
