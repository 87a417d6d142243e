import assert from "node:assert/strict";
import { join } from "node:path";
import onnx from "onnx-proto";
import {
  ExternalDataError,
  FrontendError,
  GraphStructureError,
  OnnxDecodeError,
  UnsupportedDtypeError,
  UnsupportedOpsError,
  UnsupportedOpsetError,
} from "../../src/frontend/errors.ts";
import { importOnnx, importOnnxFile } from "../../src/frontend/import_model.ts";
import { execute } from "../../src/executor/execute.ts";
import { tensor, toNumbers } from "../../src/ir/tensor.ts";
import { BFLOAT16, craftModel, FLOAT, floatInit } from "./craft.ts";

const FIXTURE = new URL(
  "../../../shared/models/hf-export-fixtures/ort-bert-squad-pytorch-opset10.onnx",
  import.meta.url,
).pathname;

/** A one-node model y = Relu(x) at `opset`. */
function reluModel(opset = 17): Uint8Array {
  return craftModel({
    opset,
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"], name: "relu" }],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
  });
}

/** The error `fn` throws, asserted to be of class `cls`. */
function thrown<E extends Error>(
  fn: () => unknown,
  cls: new (...a: never[]) => E,
): E {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert.ok(e instanceof FrontendError);
    assert.doesNotMatch(e.message, /\n\s+at /, "no stack trace in the message");
    return e;
  }
  throw new assert.AssertionError({ message: `expected ${cls.name}` });
}

function decodeProblem(bytes: Uint8Array): string {
  return thrown(() => importOnnx(bytes, { path: "bad.onnx" }), OnnxDecodeError)
    .problem;
}

Deno.test("an empty file is refused as empty", () => {
  const e = thrown(
    () => importOnnx(new Uint8Array(), { path: "empty.onnx" }),
    OnnxDecodeError,
  );
  assert.equal(e.problem, "empty");
  assert.match(e.message, /^'empty.onnx' is empty/);
});

Deno.test("the first half of a real model is refused as truncated", () => {
  const bytes = Deno.readFileSync(FIXTURE);
  const e = thrown(
    () =>
      importOnnx(bytes.subarray(0, bytes.length >> 1), { path: "half.onnx" }),
    OnnxDecodeError,
  );
  assert.equal(e.problem, "truncated");
  assert.match(e.message, /'half.onnx' ends in the middle of a record/);
});

Deno.test("text and random bytes are refused as not ONNX", () => {
  const text = new TextEncoder().encode("name,value\nalpha,1\nbeta,2\n");
  assert.equal(decodeProblem(text), "not-onnx");
  // A fixed seed keeps the test deterministic.
  let seed = 12345;
  const random = new Uint8Array(4096).map(() => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 24;
  });
  assert.match(decodeProblem(random), /not-onnx|truncated/);
});

Deno.test("a model without a graph is refused", () => {
  const bytes = onnx.onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
  }).finish();
  assert.equal(decodeProblem(bytes), "missing-graph");
});

Deno.test("a model without an ai.onnx opset is refused", () => {
  const bytes = onnx.onnx.ModelProto.encode({
    irVersion: 8,
    graph: { name: "g" },
  }).finish();
  assert.equal(decodeProblem(bytes), "missing-opset");
});

Deno.test("opsets outside the supported range are refused with the range", () => {
  const e = thrown(() => importOnnx(reluModel(26)), UnsupportedOpsetError);
  assert.equal(e.opset, 26);
  assert.match(e.message, /opset 26, but only opsets 1 to 25 are supported/);
  thrown(() => importOnnx(reluModel(0)), UnsupportedOpsetError);
});

Deno.test("every unsupported node is listed in one error", () => {
  const bytes = craftModel({
    opset: 17,
    extraOpsets: [["com.microsoft", 1]],
    nodes: [
      { op: "FancyOp", inputs: ["x"], outputs: ["a"], name: "fancy_1" },
      { op: "Relu", inputs: ["a"], outputs: ["b"], name: "ok_relu" },
      { op: "OtherOp", inputs: ["b"], outputs: ["c"], name: "other_2" },
      {
        op: "FusedGelu",
        domain: "com.microsoft",
        inputs: ["c"],
        outputs: ["y"],
        name: "ms_gelu",
      },
    ],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
  });
  const e = thrown(
    () => importOnnx(bytes, { path: "m.onnx" }),
    UnsupportedOpsError,
  );
  assert.deepEqual(e.nodes.map((n) => n.name), [
    "fancy_1",
    "other_2",
    "ms_gelu",
  ]);
  assert.match(e.message, /has 3 nodes the importer does not support/);
  assert.match(e.message, /node 'fancy_1': FancyOp: the op is not supported/);
  assert.match(
    e.message,
    /node 'ms_gelu': com\.microsoft\.FusedGelu: ops of domain 'com\.microsoft'/,
  );
});

Deno.test("an op version the importer does not handle is refused, not downgraded", () => {
  // Add at opset 6 resolves to Add-6 (with the legacy broadcast attribute).
  const bytes = craftModel({
    opset: 6,
    irVersion: 3,
    nodes: [{ op: "Add", inputs: ["x", "x"], outputs: ["y"], name: "add" }],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
  });
  const e = thrown(() => importOnnx(bytes), UnsupportedOpsError);
  assert.equal(e.nodes[0].version, 6);
  assert.match(
    e.message,
    /Add-6: version 6 of the op is not supported \(supported: 7, 13, 14\)/,
  );
});

Deno.test("graph inputs of a type the IR lacks are refused", () => {
  const bytes = craftModel({
    nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }],
    inputs: [["x", BFLOAT16, [2]]],
    outputs: [["y", BFLOAT16, [2]]],
  });
  const e = thrown(() => importOnnx(bytes), UnsupportedDtypeError);
  assert.equal(e.typeName, "BFLOAT16");
  assert.match(e.message, /Value 'x'/);
});

Deno.test("a node reading a value nothing defines is named", () => {
  const bytes = craftModel({
    nodes: [{
      op: "Add",
      inputs: ["x", "ghost"],
      outputs: ["y"],
      name: "adder",
    }],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
  });
  const e = thrown(() => importOnnx(bytes), GraphStructureError);
  assert.equal(e.problem, "undefined-input");
  assert.equal(e.nodeName, "adder");
  assert.match(e.message, /node 'adder' reads value 'ghost'/);
});

Deno.test("a cycle is refused and a node on it named", () => {
  const bytes = craftModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["pre"], name: "before" },
      { op: "Add", inputs: ["pre", "b"], outputs: ["a"], name: "n1" },
      { op: "Relu", inputs: ["a"], outputs: ["b"], name: "n2" },
      { op: "Relu", inputs: ["b"], outputs: ["y"], name: "after" },
    ],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
  });
  const e = thrown(() => importOnnx(bytes), GraphStructureError);
  assert.equal(e.problem, "cycle");
  assert.ok(["n1", "n2"].includes(e.nodeName!), e.nodeName);
});

Deno.test("a value defined twice is refused", () => {
  const bytes = craftModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["y"], name: "r1" },
      { op: "Neg", inputs: ["x"], outputs: ["y"], name: "r2" },
    ],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
  });
  const e = thrown(() => importOnnx(bytes), GraphStructureError);
  assert.equal(e.problem, "defined-twice");
  assert.equal(e.nodeName, "r2");
});

Deno.test("out-of-order nodes are sorted stably with a warning", () => {
  const bytes = craftModel({
    nodes: [
      { op: "Neg", inputs: ["a"], outputs: ["y"], name: "second" },
      { op: "Relu", inputs: ["x"], outputs: ["a"], name: "first" },
      { op: "Relu", inputs: ["x"], outputs: ["z"], name: "independent" },
    ],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]], ["z", FLOAT, [2]]],
  });
  const { graph, warnings } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => n.name), [
    "first",
    "second",
    "independent",
  ]);
  assert.match(warnings[0], /not in topological order/);
});

Deno.test("unnamed and repeated node names are made unique", () => {
  const bytes = craftModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["a"] },
      { op: "Neg", inputs: ["a"], outputs: ["b"], name: "n" },
      { op: "Neg", inputs: ["b"], outputs: ["y"], name: "n" },
    ],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
  });
  const { graph } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => n.name), ["Relu_0", "n", "n_2"]);
});

/** A model y = x + w where w's 3 floats live in `data.bin` at offset 8. */
function externalModel(dir: string): string {
  const w: onnx.onnx.ITensorProto = {
    name: "w",
    dims: [3],
    dataType: FLOAT,
    dataLocation: onnx.onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: "data.bin" },
      { key: "offset", value: "8" },
      { key: "length", value: "12" },
    ],
  };
  const path = join(dir, "model.onnx");
  Deno.writeFileSync(
    path,
    craftModel({
      nodes: [{ op: "Add", inputs: ["x", "w"], outputs: ["y"], name: "add" }],
      inputs: [["x", FLOAT, [3]]],
      outputs: [["y", FLOAT, [3]]],
      initializers: [w],
    }),
  );
  return path;
}

Deno.test("external data beside the model is read", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = externalModel(dir);
    const bytes = new Uint8Array(20);
    new DataView(bytes.buffer).setFloat32(8, 1.5, true);
    new DataView(bytes.buffer).setFloat32(12, -2, true);
    new DataView(bytes.buffer).setFloat32(16, 4.25, true);
    Deno.writeFileSync(join(dir, "data.bin"), bytes);
    const { graph } = importOnnxFile(path);
    assert.deepEqual(toNumbers(graph.constants.get("w")!), [1.5, -2, 4.25]);
    const y = execute(graph, { x: tensor("f32", [3], [1, 1, 1]) }).get("y")!;
    assert.deepEqual(toNumbers(y), [2.5, -1, 5.25]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("missing or short external data names the tensor and the path", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = externalModel(dir);
    const missing = thrown(() => importOnnxFile(path), ExternalDataError);
    assert.equal(missing.tensorName, "w");
    assert.equal(missing.dataPath, join(dir, "data.bin"));
    assert.match(missing.message, /Tensor 'w'.*data\.bin.*does not exist/);
    Deno.writeFileSync(join(dir, "data.bin"), new Uint8Array(10));
    const short = thrown(() => importOnnxFile(path), ExternalDataError);
    assert.match(
      short.message,
      /has 10 bytes and the tensor needs bytes 8 to 20/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("external data outside the model's folder is refused", () => {
  const bytes = craftModel({
    nodes: [{ op: "Identity", inputs: ["w"], outputs: ["y"] }],
    outputs: [["y", FLOAT, [1]]],
    initializers: [{
      name: "w",
      dims: [1],
      dataType: FLOAT,
      dataLocation: onnx.onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: "location", value: "../../etc/passwd" }],
    }],
  });
  const e = thrown(
    () => importOnnx(bytes, { path: "/tmp/x/model.onnx" }),
    ExternalDataError,
  );
  assert.match(e.message, /outside the model's directory/);
});

Deno.test("initializers also listed as inputs are constants, not inputs", () => {
  const bytes = craftModel({
    irVersion: 3,
    opset: 9,
    nodes: [{ op: "Add", inputs: ["x", "w"], outputs: ["y"], name: "add" }],
    inputs: [["x", FLOAT, [2]], ["w", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
    initializers: [floatInit("w", [2], [1, 2])],
  });
  const { graph } = importOnnx(bytes);
  assert.deepEqual(graph.inputs, ["x"]);
  assert.ok(graph.constants.has("w"));
});
