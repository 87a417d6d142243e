/**
 * Edge cases of the engine's quantising kernels on small graphs: f16
 * rounding on every class of f32 value, integer products whose scale
 * 2^(ea+eb−14) is not a normal f32, a Gemm with α and C (rounded once, as
 * the reference does), and a quantised value that is also read as f32
 * (mapped once, unmapped for that reader).
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { roundToF16 } from "../../src/ir/dtype.ts";
import {
  attr,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { inferShapes } from "../../src/passes/infer_shapes.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import { randomTensor } from "../recipes/_graphs.ts";
import { teacherForced } from "./quantize_check.ts";

function graphOf(
  inputs: [string, number[]][],
  nodes: Node[],
  outputs: string[],
): Graph {
  return inferShapes.run(
    makeGraph({
      name: "quantize_kernels",
      inputs: inputs.map(([n]) => n),
      outputs,
      constants: [],
      nodes,
      types: inputs.map(([n, shape]) => [n, { dtype: "f32", shape }]),
    }),
    DEFAULT_OPTIONS,
  );
}

const bfp8 = (name: string, x: string) =>
  makeNode("BfpQuantize", name, [x], [name], {
    bits: attr.int(8),
    rounding: attr.string("nearest"),
  });

Deno.test("F16Round on the engine equals roundToF16 on every class of f32", async () => {
  const bits = new Uint32Array(4096);
  let s = 12345;
  for (let i = 0; i < bits.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    bits[i] = s;
  }
  const specials = [
    0,
    -0,
    65504,
    65519.99,
    65520,
    -65520,
    2 ** -14,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    Infinity,
    -Infinity,
    NaN,
    1e-40,
    -5.9604645e-8,
  ];
  const x = new Float32Array(bits.buffer);
  x.set(specials);
  // Exponents from subnormal to overflow, with random mantissas.
  for (let i = 64; i < 1024; i++) x[i] = (x[i] % 1) * 2 ** ((i % 60) - 30);
  const graph = graphOf(
    [["x", [x.length]]],
    [makeNode("F16Round", "r", ["x"], ["y"])],
    ["y"],
  );
  const engine = await Engine.create(graph);
  assert.deepEqual(engine.fallbacks(), []);
  const y = engine.run({ x: tensor("f32", [x.length], x) }).get("y")!;
  const want = Float32Array.from(x, roundToF16);
  const got = y.data as Float32Array;
  for (let i = 0; i < x.length; i++) {
    assert.ok(
      Object.is(got[i], want[i]),
      `f16(${x[i]}) = ${want[i]}, engine ${got[i]}`,
    );
  }
});

/** x·w quantised, on inputs of magnitude `scale`, plus a Gemm with α and C. */
function productGraph(): Graph {
  return graphOf(
    [["x", [6, 16]], ["w", [16, 8]], ["v", [8, 16]], ["c", [8]]],
    [
      bfp8("qx", "x"),
      bfp8("qw", "w"),
      bfp8("qv", "v"),
      makeNode("MatMul", "mm", ["qx", "qw"], ["y"]),
      makeNode("Gemm", "gemm", ["qx", "qv", "c"], ["z"], {
        alpha: attr.float(0.375),
        transB: attr.int(1),
      }),
      makeNode("Relu", "relu", ["qx"], ["r"]),
    ],
    ["y", "z", "r"],
  );
}

function productFeeds(scale: number): Map<string, Tensor> {
  const scaled = (t: Tensor) => ({
    ...t,
    data: Float32Array.from(t.data, (v) => v * scale),
  });
  return new Map([
    ["x", scaled(randomTensor([6, 16], 1))],
    ["w", scaled(randomTensor([16, 8], 2))],
    ["v", scaled(randomTensor([8, 16], 3))],
    ["c", randomTensor([8], 4)],
  ]);
}

for (const scale of [1, 2 ** -70, 2 ** 60]) {
  Deno.test(`integer products equal the reference on operands of magnitude ${scale}`, async () => {
    const graph = productGraph();
    const engine = await Engine.create(graph);
    assert.deepEqual(engine.fallbacks(), []);
    const ops = engine.graph.nodes.map((n) => n.op);
    assert.equal(ops.filter((op) => op === "IntMatMul").length, 2);
    // qx is read by Relu as f32: mapped once, unmapped for that reader.
    assert.equal(ops.filter((op) => op === "BfpUnmap").length, 1);
    const check = await teacherForced(graph, productFeeds(scale));
    assert.deepEqual(check.inexact, []);
    assert.ok(check.exact >= 5);
  });
}
