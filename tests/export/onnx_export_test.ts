/**
 * The exporter on small graphs: tensors of every dtype, attributes of every
 * kind, int64 sentinels, opset-17 forms checked in onnxruntime-node, and the
 * refusals.
 */

import assert from "node:assert/strict";
import onnx from "onnx-proto";
import { execute } from "../../src/executor/execute.ts";
import {
  ExportError,
  exportOnnx,
  ExportOpsetError,
  UnexportableOpsError,
} from "../../src/export/mod.ts";
import { floatToHalf } from "../../src/export/tensor_encode.ts";
import { importOnnx } from "../../src/frontend/import_model.ts";
import { halfToFloat } from "../../src/frontend/tensor_proto.ts";
import {
  attr,
  type Attrs,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  type ValueType,
} from "../../src/ir/graph.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { type Tensor, tensor, toNumbers } from "../../src/ir/tensor.ts";
import { inferShapes } from "../../src/passes/infer_shapes.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import { relativeError, runOrt } from "./ort_run.ts";

/** A graph of `nodes` over typed inputs and constants, types inferred. */
function graphOf(
  inputs: Record<string, ValueType>,
  constants: Record<string, Tensor>,
  nodes: Node[],
  outputs: string[],
): Graph {
  const graph = makeGraph({
    name: "g",
    inputs: Object.keys(inputs),
    outputs,
    constants: Object.entries(constants),
    nodes,
    types: Object.entries(inputs),
  });
  return inferShapes.run(graph, DEFAULT_OPTIONS);
}

function node(
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Attrs = {},
) {
  return makeNode(op, `${op}_node`, inputs, outputs, attrs);
}

/** Runs `graph` exported at `opset` in ORT and in the executor; returns the worst error. */
async function ortError(
  graph: Graph,
  feeds: Map<string, Tensor>,
  opset: number,
): Promise<number> {
  const theirs = await runOrt(exportOnnx(graph, { opset }), feeds);
  const ours = execute(graph, feeds);
  return Math.max(
    ...graph.outputs.map((o) => relativeError(ours.get(o)!, theirs[o])),
  );
}

const INT64_MAX_AS_DOUBLE = 2 ** 63;

Deno.test("constants of every dtype survive export and import exactly", () => {
  const constants: Record<string, Tensor> = {
    f32: tensor("f32", [3], [1.5, -0, 3.4e38]),
    f16: tensor("f16", [5], [1.5, 2 ** -24, 65504, -Infinity, -(2 ** -14)]),
    f64: tensor("f64", [2], [Math.PI, -1e300]),
    i8: tensor("i8", [2], [-128, 127]),
    u8: tensor("u8", [2], [0, 255]),
    i16: tensor("i16", [2], [-32768, 32767]),
    u16: tensor("u16", [1], [65535]),
    i32: tensor("i32", [2], [-(2 ** 31), 2 ** 31 - 1]),
    u32: tensor("u32", [1], [2 ** 32 - 1]),
    i64: tensor("i64", [4], [
      -INT64_MAX_AS_DOUBLE,
      INT64_MAX_AS_DOUBLE,
      -1,
      2 ** 53,
    ]),
    u64: tensor("u64", [2], [0, 2 ** 53]),
    bool: tensor("bool", [2, 1], [1, 0]),
    scalar: tensor("f32", [], [7]),
  };
  const graph = graphOf({}, constants, [], Object.keys(constants));
  const back = importOnnx(exportOnnx(graph)).graph;
  for (const [name, t] of Object.entries(constants)) {
    const got = back.constants.get(name)!;
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual([...got.shape], [...t.shape], name);
    assert.deepEqual(toNumbers(got), toNumbers(t), name);
  }
});

Deno.test("floatToHalf inverts halfToFloat on every f16 and rounds to nearest even", () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const x = halfToFloat(bits);
    if (!Number.isNaN(x)) assert.equal(floatToHalf(x), bits, `bits ${bits}`);
  }
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00, "tie goes to even");
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02, "tie goes to even");
  assert.equal(floatToHalf(65520), 0x7c00, "overflow is infinity");
  assert.equal(floatToHalf(3 * 2 ** -26), 0x0001, "subnormal rounds down");
  assert.equal(floatToHalf(2 ** -26), 0, "tiny is zero");
  assert.ok((floatToHalf(NaN) & 0x7fff) > 0x7c00, "NaN stays NaN");
});

Deno.test("f16 constants and the INT64_MAX slice sentinel run in ORT as in the executor", async () => {
  const half = tensor("f16", [4], [1.5, 2 ** -24, 65504, -(2 ** -14)]);
  const graph = graphOf(
    { x: { dtype: "f32", shape: [5] } },
    {
      half,
      starts: tensor("i64", [1], [1]),
      ends: tensor("i64", [1], [INT64_MAX_AS_DOUBLE]),
    },
    [
      node("Cast", ["half"], ["widened"], { to: attr.int(1) }),
      node("Slice", ["x", "starts", "ends"], ["tail"]),
    ],
    ["widened", "tail"],
  );
  const x = tensor("f32", [5], [1, 2, 3, 4, 5]);
  const theirs = await runOrt(exportOnnx(graph), new Map([["x", x]]));
  assert.deepEqual(
    Array.from(theirs.widened.data as Float32Array),
    toNumbers(half),
  );
  assert.deepEqual(Array.from(theirs.tail.data as Float32Array), [2, 3, 4, 5]);
});

Deno.test("attributes of every kind survive export and import", () => {
  const attrs: Attrs = {
    i: attr.int(-3),
    big: attr.int(INT64_MAX_AS_DOUBLE),
    f: attr.float(0.25),
    s: attr.string("tanh ✓"),
    is: attr.ints([1, -1, INT64_MAX_AS_DOUBLE]),
    fs: attr.floats([0.5, -2]),
    ss: { kind: "strings", value: ["a", ""] },
    none: attr.ints([]),
    t: attr.tensor(tensor("i64", [2], [4, -5])),
  };
  const graph = graphOf(
    { x: { dtype: "f32", shape: ["batch", 2] } },
    {},
    [node("Identity", ["x"], ["y"], attrs)],
    ["y"],
  );
  const bytes = exportOnnx(graph);
  const proto = onnx.onnx.ModelProto.decode(bytes).graph!.node![0];
  const big = proto.attribute!.find((a) => a.name === "big")!;
  assert.equal(String(big.i), "9223372036854775807");
  const back = importOnnx(bytes).graph;
  assert.deepEqual(back.nodes[0].attrs, attrs);
  assert.equal(printGraph(back), printGraph(graph));
  assert.deepEqual(back.types.get("x")!.shape, ["batch", 2]);
});

Deno.test("opset 17 writes Reduce axes and Split sizes as attributes; ORT agrees", async () => {
  const graph = graphOf(
    { x: { dtype: "f32", shape: [2, 5] } },
    { axes: tensor("i64", [1], [1]), all: tensor("i64", [0]) },
    [
      node("ReduceMean", ["x", "axes"], ["mean"], { keepdims: attr.int(0) }),
      node("ReduceL2", ["x", "all"], ["l2"]),
      node("ReduceMax", ["x"], ["max"], { noop_with_empty_axes: attr.int(0) }),
      node("Split", ["x"], ["a", "b"], {
        axis: attr.int(1),
        num_outputs: attr.int(2),
      }),
      makeNode("Split", "even", ["x"], ["c", "d"], {
        axis: attr.int(0),
        num_outputs: attr.int(2),
      }),
    ],
    ["mean", "l2", "max", "a", "b", "c", "d"],
  );
  const x = tensor("f32", [2, 5], [1, -2, 3, 4, 5, 6, 7, -8, 9, 10]);
  for (const opset of [17, 18, 20]) {
    assert.equal(
      await ortError(graph, new Map([["x", x]]), opset),
      0,
      `opset ${opset}`,
    );
  }
  const nodes = onnx.onnx.ModelProto.decode(exportOnnx(graph, { opset: 17 }))
    .graph!.node!;
  assert.deepEqual(nodes.map((n) => n.input!.length), [1, 1, 1, 2, 1]);
  assert.ok(nodes[0].attribute!.some((a) => a.name === "axes"));
  // ONNX 17 says absent axes reduce all; an empty list is left unsaid.
  assert.ok(!nodes[1].attribute!.some((a) => a.name === "axes"));
});

for (const approximate of ["none", "tanh"]) {
  Deno.test(`Gelu (approximate=${approximate}) matches ORT natively and as its formula`, async () => {
    const graph = graphOf(
      { x: { dtype: "f32", shape: [64] } },
      {},
      [node("Gelu", ["x"], ["y"], { approximate: attr.string(approximate) })],
      ["y"],
    );
    const x = tensor(
      "f32",
      [64],
      Array.from({ length: 64 }, (_, i) => (i - 32) / 6),
    );
    for (const opset of [17, 19, 20, 23]) {
      const error = await ortError(graph, new Map([["x", x]]), opset);
      assert.ok(error <= 1e-6, `opset ${opset}: ${error}`);
    }
    const nodes = onnx.onnx.ModelProto.decode(exportOnnx(graph, { opset: 19 }))
      .graph!.node!;
    assert.ok(nodes.every((n) => n.name!.startsWith("Gelu_node/")));
    assert.deepEqual(nodes.at(-1)!.output, ["y"]);
  });
}

Deno.test("nodes with no ONNX form are all refused in one error", () => {
  const graph = makeGraph({
    name: "train",
    inputs: ["x", "k"],
    outputs: ["y"],
    constants: [],
    nodes: [
      makeNode("Add", "fine", ["x", "x"], ["s"]),
      makeNode("LayerNormGrad", "ln/grad", ["s", "s", "s"], ["g"]),
      makeNode("ReduceMean", "runtime_axes", ["x", "k"], ["m"]),
      makeNode("Gelu", "untyped", ["m"], ["y"]),
      makeNode("AdamW", "step", ["s", "g"], ["w"]),
    ],
    types: [["x", { dtype: "f32", shape: [4] }], ["k", {
      dtype: "i64",
      shape: [1],
    }]],
  });
  assert.throws(() => exportOnnx(graph, { opset: 17 }), (e) => {
    assert.ok(e instanceof UnexportableOpsError);
    assert.equal(e.opset, 17);
    assert.deepEqual(e.nodes.map((n) => [n.name, n.op]), [
      ["ln/grad", "LayerNormGrad"],
      ["runtime_axes", "ReduceMean"],
      ["untyped", "Gelu"],
      ["step", "AdamW"],
    ]);
    assert.match(e.message, /4 nodes cannot be exported to ONNX opset 17/);
    assert.match(
      e.message,
      /AdamW node 'step': the IR operator has no ONNX form/,
    );
    return true;
  });
  assert.throws(() => exportOnnx(graph), (e) => {
    assert.ok(e instanceof UnexportableOpsError);
    assert.deepEqual(e.nodes.map((n) => n.name), ["ln/grad", "step"]);
    return true;
  });
});

Deno.test("opsets outside 17..23 and untyped graph inputs are refused", () => {
  const graph = graphOf(
    { x: { dtype: "f32", shape: [2] } },
    {},
    [node("Relu", ["x"], ["y"])],
    ["y"],
  );
  for (const opset of [16, 24, 20.5]) {
    assert.throws(() => exportOnnx(graph, { opset }), (e) => {
      assert.ok(e instanceof ExportOpsetError);
      assert.deepEqual([e.opset, e.min, e.max], [opset, 17, 23]);
      return true;
    });
  }
  const untyped = makeGraph({ ...graph, types: [] });
  assert.throws(() => exportOnnx(untyped), ExportError);
  assert.throws(() => exportOnnx(untyped), /Graph input 'x' has no type/);
});

Deno.test("the model header carries the opset, its IR version and the producer", () => {
  const graph = graphOf(
    { x: { dtype: "f32", shape: [2] } },
    {},
    [node("Relu", ["x"], ["y"])],
    ["y"],
  );
  const header = (options: { opset?: number; producer?: string }) => {
    const m = onnx.onnx.ModelProto.decode(exportOnnx(graph, options));
    return [
      Number(m.opsetImport[0].version),
      Number(m.irVersion),
      m.producerName,
      m.graph!.name,
    ];
  };
  assert.deepEqual(header({}), [20, 9, "tessera", "g"]);
  assert.deepEqual(header({ opset: 17, producer: "me" }), [17, 8, "me", "g"]);
  assert.deepEqual(header({ opset: 23 }), [23, 11, "tessera", "g"]);
});
