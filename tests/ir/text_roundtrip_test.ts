import assert from "node:assert/strict";
import { digestOf } from "../../src/ir/digest.ts";
import { attr, makeGraph, makeNode } from "../../src/ir/graph.ts";
import { IrParseError, parseGraph } from "../../src/ir/parser.ts";
import { printFloat, printGraph } from "../../src/ir/printer.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { randomGraph } from "./random_graph.ts";

function smallGraph() {
  return makeGraph({
    name: "tiny",
    inputs: ["x"],
    outputs: ["/layer.0/y"],
    constants: [["w", tensor("f32", [2, 2], [1, 0.1, -2.5, 3])], [
      "big",
      tensor("f32", [5, 5]),
    ]],
    nodes: [
      makeNode("MatMul", "/layer.0/MatMul", ["x", "w"], ["onnx::Add_3"]),
      makeNode("Add", "/layer.0/Add", ["onnx::Add_3", "big"], ["/layer.0/y"], {
        axis: attr.int(-1),
        epsilon: attr.float(1e-12),
      }),
    ],
    types: [["x", { dtype: "f32", shape: ["batch", 2] }], ["onnx::Add_3", {
      dtype: "f32",
      shape: ["batch", 2],
    }], ["/layer.0/y", { dtype: "f32", shape: ["batch", 2] }]],
  });
}

Deno.test("the text form reads as documented", () => {
  const text = printGraph(smallGraph());
  assert.match(text, /^graph tiny \{\n {2}input x: f32\[batch,2\]\n/);
  assert.match(text, /const w: f32\[2,2\] = \[1\.0, 0\.1, -2\.5, 3\.0\]/);
  assert.match(text, /const big: f32\[5,5\] = data\(fnv1a:[0-9a-f]{8}\)/);
  assert.match(
    text,
    /%"onnx::Add_3": f32\[batch,2\] = MatMul\(x, w\) @\/layer\.0\/MatMul/,
  );
  assert.match(text, /\{axis=-1, epsilon=1e-12\} @\/layer\.0\/Add\n/);
});

Deno.test("print → parse → print is identical on random graphs", () => {
  for (let seed = 1; seed <= 400; seed++) {
    const graph = randomGraph(seed);
    const text = printGraph(graph);
    const again = printGraph(
      parseGraph(text, { weights: (n) => graph.constants.get(n) }),
    );
    assert.equal(again, text, `seed ${seed}`);
    assert.equal(
      printGraph(parseGraph(text)),
      text,
      `seed ${seed} without weights`,
    );
  }
});

Deno.test("parsing with weights restores the data; a wrong tensor is refused", () => {
  const graph = smallGraph();
  const back = parseGraph(printGraph(graph), {
    weights: (n) => graph.constants.get(n),
  });
  assert.equal(back.constants.get("big"), graph.constants.get("big"));
  assert.deepEqual([...back.constants.get("w")!.data], [
    ...graph.constants.get("w")!.data,
  ]);
  const other = tensor("f32", [5, 5], new Array(25).fill(1));
  assert.notEqual(digestOf(other), digestOf(graph.constants.get("big")!));
  assert.throws(
    () => parseGraph(printGraph(graph), { weights: () => other }),
    /does not match digest/,
  );
});

Deno.test("floats print as the shortest text that reads back", () => {
  assert.equal(printFloat(Math.fround(0.1), true), "0.1");
  assert.equal(printFloat(1, true), "1.0");
  assert.equal(printFloat(-0), "-0.0");
  assert.equal(printFloat(Math.fround(1e-12), true), "1e-12");
  for (
    const x of [Math.fround(1 / 3), Math.fround(3.4e38), Math.fround(1.4e-45)]
  ) {
    assert.equal(Math.fround(Number(printFloat(x, true))), x);
  }
});

Deno.test("syntax errors name the line", () => {
  const bad = "graph g {\n  input x: f32[2]\n  %y: f99[2] = Add(x, x) @n\n}\n";
  assert.throws(
    () => parseGraph(bad),
    (e) =>
      e instanceof IrParseError && e.line === 3 &&
      /unknown dtype 'f99'/.test(e.message),
  );
  assert.throws(() => parseGraph("graph g {\n"), /missing closing/);
  assert.throws(
    () => parseGraph("nodes {\n}"),
    /line 1: expected 'graph NAME \{'/,
  );
});
