import assert from "node:assert/strict";
import onnx from "onnx-proto";
import { importOnnx } from "../../src/frontend/import_model.ts";
import { opTable, resolveOp } from "../../src/frontend/op_table.ts";
import { execute } from "../../src/executor/execute.ts";
import { tensor, toNumbers } from "../../src/ir/tensor.ts";
import { findOp } from "../../src/ops/mod.ts";
import { craftModel, FLOAT, INT64, intAttr, intsAttr } from "./craft.ts";

/** The since-version an op resolves to at `opset`, or the refusal reason. */
function resolved(op: string, opset: number): number | string {
  const r = resolveOp(op, "", opset);
  return r.ok ? r.version : r.reason;
}

Deno.test("ops resolve to the largest ONNX since-version at or below the opset", () => {
  const cases: [string, number, number][] = [
    ["Unsqueeze", 10, 1],
    ["Unsqueeze", 11, 11],
    ["Unsqueeze", 12, 11],
    ["Unsqueeze", 13, 13],
    ["Unsqueeze", 22, 21],
    ["ReduceMean", 17, 13],
    ["ReduceMean", 18, 18],
    ["ReduceSum", 12, 11],
    ["ReduceSum", 13, 13],
    ["Softmax", 12, 11],
    ["Softmax", 13, 13],
    ["Split", 17, 13],
    ["Split", 18, 18],
    ["Slice", 9, 1],
    ["Slice", 10, 10],
    ["Squeeze", 20, 13],
    ["Reshape", 18, 14],
    ["Reshape", 20, 19],
    ["Cast", 14, 13],
    ["Cast", 21, 21],
    ["LayerNormalization", 17, 17],
    ["Gelu", 20, 20],
  ];
  for (const [op, opset, version] of cases) {
    assert.equal(resolved(op, opset), version, `${op} at opset ${opset}`);
  }
});

Deno.test("versions ONNX defines but the importer does not handle are refused", () => {
  assert.match(String(resolved("Gelu", 19)), /does not exist at opset 19/);
  assert.match(
    String(resolved("Reshape", 4)),
    /version 1 of the op is not supported/,
  );
  assert.match(String(resolved("Range", 25)), /^11$/);
  assert.match(String(resolveOp("Relu", "com.microsoft", 17).ok), /false/);
});

Deno.test("the op table's version lists are ascending and imported ⊆ ONNX's", () => {
  for (const e of opTable()) {
    assert.deepEqual(
      [...e.versions].sort((a, b) => a - b),
      e.versions,
      e.opType,
    );
    for (const v of e.imported) {
      assert.ok(e.versions.includes(v), `${e.opType}-${v}`);
    }
  }
});

Deno.test("every IR op an importer produces is registered", () => {
  for (const e of opTable()) {
    for (const op of e.irOps) assert.ok(findOp(op), `${e.opType} → ${op}`);
  }
});

/** Imports a one-node model and runs it. */
function run(
  opset: number,
  node: {
    op: string;
    inputs: string[];
    outputs: string[];
    attrs?: onnx.onnx.IAttributeProto[];
  },
  feeds: Record<string, ReturnType<typeof tensor>>,
  inputs: [string, number, number[]][],
) {
  const bytes = craftModel({
    opset,
    nodes: [{ ...node, name: "n" }],
    inputs,
    outputs: node.outputs.map((o) =>
      [o, FLOAT, []] as [string, number, number[]]
    ),
  });
  const { graph } = importOnnx(bytes);
  return { graph, out: execute(graph, feeds) };
}

function softmaxRows(values: number[], width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length; r += width) {
    const row = values.slice(r, r + width).map(Math.exp);
    const sum = row.reduce((a, b) => a + b, 0);
    out.push(...row.map((v) => Math.fround(v / sum)));
  }
  return out;
}

Deno.test("Softmax-11 on a middle axis normalises over all trailing dims", () => {
  const values = Array.from({ length: 24 }, (_, i) => Math.sin(i));
  const x = tensor("f32", [2, 3, 4], values);
  const { graph, out } = run(
    11,
    {
      op: "Softmax",
      inputs: ["x"],
      outputs: ["y"],
      attrs: [intAttr("axis", 1)],
    },
    { x },
    [[
      "x",
      FLOAT,
      [2, 3, 4],
    ]],
  );
  assert.deepEqual(graph.nodes.map((n) => n.op), [
    "Flatten",
    "Softmax",
    "Shape",
    "Reshape",
  ]);
  assert.equal(graph.nodes[3].name, "n");
  const y = out.get("y")!;
  assert.deepEqual(y.shape, [2, 3, 4]);
  const expected = softmaxRows(toNumbers(x), 12);
  toNumbers(y).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6));
});

Deno.test("Softmax-11 on the known last axis is one Softmax", () => {
  const x = tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6]);
  const { graph, out } = run(
    11,
    {
      op: "Softmax",
      inputs: ["x"],
      outputs: ["y"],
      attrs: [intAttr("axis", 1)],
    },
    { x },
    [[
      "x",
      FLOAT,
      [2, 3],
    ]],
  );
  assert.deepEqual(graph.nodes.map((n) => n.op), ["Softmax"]);
  const expected = softmaxRows(toNumbers(x), 3);
  toNumbers(out.get("y")!).forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]) < 1e-6)
  );
});

Deno.test("Split-11's split attribute becomes an i64 input", () => {
  const x = tensor("f32", [5], [1, 2, 3, 4, 5]);
  const { graph, out } = run(
    11,
    {
      op: "Split",
      inputs: ["x"],
      outputs: ["a", "b"],
      attrs: [intsAttr("split", [2, 3])],
    },
    { x },
    [["x", FLOAT, [5]]],
  );
  const split = graph.constants.get(graph.nodes[0].inputs[1])!;
  assert.equal(split.dtype, "i64");
  assert.deepEqual(toNumbers(split), [2, 3]);
  assert.deepEqual(toNumbers(out.get("b")!), [3, 4, 5]);
});

Deno.test("Split-13 without sizes becomes num_outputs", () => {
  const x = tensor("f32", [4], [1, 2, 3, 4]);
  const { graph, out } = run(
    13,
    { op: "Split", inputs: ["x"], outputs: ["a", "b"] },
    { x },
    [["x", FLOAT, [4]]],
  );
  assert.deepEqual(graph.nodes[0].attrs.num_outputs, { kind: "int", value: 2 });
  assert.deepEqual(toNumbers(out.get("a")!), [1, 2]);
});

Deno.test("Slice-1's starts/ends/axes attributes become inputs", () => {
  const x = tensor("f32", [2, 4], [0, 1, 2, 3, 4, 5, 6, 7]);
  const { graph, out } = run(
    9,
    {
      op: "Slice",
      inputs: ["x"],
      outputs: ["y"],
      attrs: [
        intsAttr("starts", [1]),
        intsAttr("ends", [2 ** 62]),
        intsAttr("axes", [1]),
      ],
    },
    { x },
    [["x", FLOAT, [2, 4]]],
  );
  assert.equal(graph.nodes[0].inputs.length, 4);
  assert.deepEqual(Object.keys(graph.nodes[0].attrs), []);
  assert.deepEqual(toNumbers(out.get("y")!), [1, 2, 3, 5, 6, 7]);
});

Deno.test("Constant nodes of every value form become graph constants", () => {
  const T = onnx.onnx.AttributeProto.AttributeType;
  const forms: [onnx.onnx.IAttributeProto, string, number[], number[]][] = [
    [{ name: "value_float", f: 2.5, type: T.FLOAT }, "f32", [], [2.5]],
    [{ name: "value_floats", floats: [1, 2], type: T.FLOATS }, "f32", [2], [
      1,
      2,
    ]],
    [{ name: "value_int", i: 7, type: T.INT }, "i64", [], [7]],
    [{ name: "value_ints", ints: [3, -4], type: T.INTS }, "i64", [2], [3, -4]],
    [
      {
        name: "value",
        t: { dims: [1], dataType: INT64, int64Data: [9] },
        type: T.TENSOR,
      },
      "i64",
      [1],
      [9],
    ],
  ];
  for (const [a, dtype, shape, values] of forms) {
    const bytes = craftModel({
      opset: 13,
      nodes: [{ op: "Constant", inputs: [], outputs: ["c"], attrs: [a] }, {
        op: "Identity",
        inputs: ["c"],
        outputs: ["y"],
      }],
      outputs: [["y", FLOAT, []]],
    });
    const { graph } = importOnnx(bytes);
    assert.deepEqual(graph.nodes.map((n) => n.op), ["Identity"]);
    const c = graph.constants.get("c")!;
    assert.equal(c.dtype, dtype, a.name!);
    assert.deepEqual(c.shape, shape);
    assert.deepEqual(toNumbers(c), values);
  }
});

Deno.test("inference Dropout-12 keeps its mask output", () => {
  const x = tensor("f32", [3], [1, 2, 3]);
  const { out } = run(
    12,
    { op: "Dropout", inputs: ["x"], outputs: ["y", "mask"] },
    { x },
    [["x", FLOAT, [3]]],
  );
  assert.deepEqual(toNumbers(out.get("y")!), [1, 2, 3]);
  assert.equal(out.get("mask")!.dtype, "bool");
});

Deno.test("Dropout-10 drops its ratio attribute; is_test=0 Dropout-6 is refused", () => {
  const x = tensor("f32", [2], [1, 2]);
  const ratio = {
    name: "ratio",
    f: 0.3,
    type: onnx.onnx.AttributeProto.AttributeType.FLOAT,
  };
  const { graph } = run(
    10,
    { op: "Dropout", inputs: ["x"], outputs: ["y"], attrs: [ratio] },
    { x },
    [["x", FLOAT, [2]]],
  );
  assert.deepEqual(graph.nodes[0].attrs, {});
  assert.throws(
    () =>
      run(
        6,
        {
          op: "Dropout",
          inputs: ["x"],
          outputs: ["y"],
          attrs: [intAttr("is_test", 0)],
        },
        { x },
        [["x", FLOAT, [2]]],
      ),
    /is_test = 0/,
  );
});
