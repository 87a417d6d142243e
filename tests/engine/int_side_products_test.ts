/**
 * Integer products with an outlier side stream on the engine, teacher-forced
 * against the reference operators (`Add(MatMul(main, w), MatMul(side, w))`,
 * then the bias `Add`): one splitter read by products that put its streams
 * on A and on B, transposed and not, with the other operand transposed, a
 * fused bias and a Gemm with C — for Approach 2's k (int8 and int16) and
 * Approach 1's BFP outliers (int8 and int16), with no outliers at all, a
 * few, and outliers on every row.
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import {
  attr,
  type Attrs,
  type Graph,
  intAttr,
  makeGraph,
  makeNode,
  type Node,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { inferShapes } from "../../src/passes/infer_shapes.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import { randomTensor } from "../recipes/_graphs.ts";
import { teacherForced } from "./quantize_check.ts";

const [R, K] = [24, 40];

/** Operand inputs besides x: name, shape. */
const OPERANDS: [string, number[]][] = [
  ["w", [K, 20]], // x·w, side on A
  ["w2", [R, 9]], // xᵀ·w2, side on A transposed
  ["w3", [13, K]], // x·w3ᵀ, the other operand transposed
  ["v", [7, R]], // v·x, side on B
  ["v2", [11, K]], // v2·xᵀ, side on B transposed
  ["v3", [R, 6]], // v3ᵀ·x, side on B, the other operand transposed
  ["c", [20]],
];

/** The main and side product of one pair, summed: `[main, side, Add]`. */
function pair(
  name: string,
  op: "MatMul" | "Gemm",
  [main, side]: [string, string],
  other: string,
  on: "a" | "b",
  attrs: Attrs = {},
  c?: string,
): Node[] {
  const args = (x: string) => on === "a" ? [x, other] : [other, x];
  return [
    makeNode(op, `${name}/main`, [...args(main), ...c ? [c] : []], [
      `${name}/m`,
    ], attrs),
    makeNode(op, `${name}/side`, args(side), [`${name}/s`], attrs),
    makeNode("Add", `${name}/sum`, [`${name}/m`, `${name}/s`], [name]),
  ];
}

/** x split by `splitter`, read only by side-stream product pairs. */
function sideGraph(splitter: Node): Graph {
  const streams: [string, string] = ["main", "side"];
  const q = (v: string) =>
    makeNode("BfpQuantize", `q${v}`, [v], [`q${v}`], {
      bits: attr.int(8),
      rounding: attr.string("nearest"),
    });
  const nodes = [
    splitter,
    ...OPERANDS.slice(0, -1).map(([v]) => q(v)),
    ...pair("y", "MatMul", streams, "qw", "a"),
    makeNode("Add", "y/bias", ["y", "c"], ["yb"]),
    ...pair("ya", "Gemm", streams, "qw2", "a", { transA: attr.int(1) }),
    ...pair("yo", "Gemm", streams, "qw3", "a", { transB: attr.int(1) }),
    ...pair("yc", "Gemm", streams, "qw", "a", { beta: attr.float(0.5) }, "c"),
    ...pair("yb1", "MatMul", streams, "qv", "b"),
    ...pair("yb2", "Gemm", streams, "qv2", "b", { transB: attr.int(1) }),
    ...pair("yb3", "Gemm", streams, "qv3", "b", { transA: attr.int(1) }),
  ];
  const inputs: [string, number[]][] = [["x", [R, K]], ...OPERANDS];
  return inferShapes.run(
    makeGraph({
      name: "int_side_products",
      inputs: inputs.map(([n]) => n),
      outputs: ["yb", "ya", "yo", "yc", "yb1", "yb2", "yb3"],
      constants: [],
      nodes,
      types: inputs.map(([n, shape]) => [n, { dtype: "f32", shape }]),
    }),
    DEFAULT_OPTIONS,
  );
}

/** x with `outliers` elements of magnitude about `size` (|x| < 3 elsewhere). */
function feeds(outliers: [number, number][], size: number) {
  const x = randomTensor([R, K], 1);
  const data = Float32Array.from(x.data, (v) => Math.max(-3, Math.min(3, v)));
  outliers.forEach(([i, j], n) => {
    data[i * K + j] = (n % 2 ? -1 : 1) * size * (1 + n / 7);
  });
  return new Map<string, Tensor>([
    ["x", tensor("f32", [R, K], data)],
    ...OPERANDS.map(([v, shape], i) =>
      [v, randomTensor(shape, 2 + i)] as const
    ),
  ]);
}

const tile = (outputs: string[]) =>
  makeNode("OutlierTile", "split", ["x"], outputs, {
    gamma: attr.float(5),
    bits: attr.int(8),
    rounding: attr.string("nearest"),
  });
const SPLITTERS: [string, Node][] = [
  ["Approach 2", tile(["main", "side", "wide"])],
  ["Approach 2 without the count of |k| > 127", tile(["main", "side"])],
  ...[12, 8].map((bits): [string, Node] => [
    `Approach 1 (BFP${bits} outliers)`,
    makeNode("OutlierSplit", "split", ["x"], ["main", "side"], {
      gamma: attr.float(5),
      inlier_bits: attr.int(8),
      outlier_bits: attr.int(bits),
      rounding: attr.string("nearest"),
    }),
  ]),
];

const every = [...Array(R).keys()].map((i): [number, number] => [i, i % 3]);
const FEEDS: [string, [number, number][], number][] = [
  ["no outliers", [], 0],
  ["a few outliers", [[3, 7], [3, 30], [17, 7], [20, 39]], 9],
  ["outliers on every row", every, 40],
  ["outliers past |k| = 127", [[0, 1], [5, 1], [9, 22]], 2000],
];

for (const [approach, splitter] of SPLITTERS) {
  for (const [what, outliers, size] of FEEDS) {
    Deno.test(`${approach}, ${what}: side-stream products equal the reference`, async () => {
      const graph = sideGraph(splitter);
      const engine = await Engine.create(graph);
      assert.deepEqual(engine.fallbacks(), []);
      const sided = engine.graph.nodes.filter((n) =>
        n.op === "IntMatMul" && intAttr(n.attrs, "side", 0) !== 0
      );
      assert.equal(sided.length, 7, "every pair is one IntMatMul");
      const check = await teacherForced(graph, feeds(outliers, size));
      assert.deepEqual(check.inexact, []);
      assert.ok(check.exact >= 8);
      assert.equal(check.side.columns > 0, outliers.length > 0);
      const wide = splitter.op === "OutlierTile" && size > 5 * 255;
      assert.equal(check.side.wide > 0, wide, "int16 k exactly past 1275");
    });
  }
}
