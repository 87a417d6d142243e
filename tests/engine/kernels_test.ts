/**
 * Each engine kernel against the reference executor on one-node graphs:
 * broadcasting, integer semantics, data movement, reductions, the GEMM paths
 * (batched in one call or per product, broadcast, 1-D, transposed, Gemm's
 * bias forms), the generated f32
 * kernels, the counted reference fallback, `setConstant` and feed errors.
 */

import assert from "node:assert/strict";
import { Engine, EngineError } from "../../runtime/engine/mod.ts";
import { batchGroup } from "../../runtime/engine/kernels/batched_matmul.ts";
import { selectF32Params } from "../../src/codegen/gemm/mod.ts";
import { execute } from "../../src/executor/execute.ts";
import {
  attr,
  type Attrs,
  type Graph,
  makeGraph,
  makeNode,
  withParts,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { propagate } from "../../src/passes/propagate.ts";
import { relativeError } from "./helpers.ts";

/** Deterministic values in [-2, 2). */
function values(n: number, seed = 1): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 4 - 2;
  });
}

const f32 = (shape: number[], seed = 1) =>
  tensor("f32", shape, values(shape.reduce((a, b) => a * b, 1), seed));
const i64 = (shape: number[], data: number[]) => tensor("i64", shape, data);

/** A graph of nodes over `inputs` (fed) and `constants`, typed by propagation. */
function graphOf(
  nodes: { op: string; inputs: string[]; outputs?: string[]; attrs?: Attrs }[],
  inputs: Record<string, Tensor>,
  constants: Record<string, Tensor> = {},
): Graph {
  const made = nodes.map((n, i) =>
    makeNode(n.op, `n${i}`, n.inputs, n.outputs ?? [`y${i}`], n.attrs)
  );
  const last = made[made.length - 1];
  const g = makeGraph({
    name: "kernel",
    inputs: Object.keys(inputs),
    outputs: last.outputs.filter((o) => o !== ""),
    constants: Object.entries(constants),
    nodes: made,
    types: Object.entries(inputs).map((
      [n, t],
    ) => [n, { dtype: t.dtype, shape: t.shape }]),
  });
  return withParts(g, { types: propagate(g).types });
}

/** Runs `graph` in the engine and the reference; outputs within `tolerance`. */
async function check(
  graph: Graph,
  feeds: Record<string, Tensor>,
  tolerance = 1e-5,
): Promise<Engine> {
  const engine = await Engine.create(graph);
  const want = execute(graph, feeds);
  const got = engine.run(feeds);
  for (const [name, t] of want) {
    const g = got.get(name)!;
    assert.equal(g.dtype, t.dtype, name);
    assert.ok(
      relativeError(g, t) <= tolerance,
      `${name}: ${relativeError(g, t)}`,
    );
  }
  return engine;
}

/**
 * One node over fed inputs `x0, x1, …` then constants `c0, c1, …`; checks it
 * and that nothing fell back.
 */
async function one(
  op: string,
  inputs: Tensor[],
  attrs: Attrs = {},
  outputs?: string[],
  constants: Tensor[] = [],
) {
  const fed = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
  const fixed = Object.fromEntries(constants.map((t, i) => [`c${i}`, t]));
  const names = [...Object.keys(fed), ...Object.keys(fixed)];
  const g = graphOf([{ op, inputs: names, attrs, outputs }], fed, fixed);
  const engine = await check(g, fed);
  assert.deepEqual(engine.fallbacks(), [], `${op} fell back`);
}

Deno.test("elementwise kernels broadcast like the reference", async () => {
  for (
    const op of [
      "Add",
      "Sub",
      "Mul",
      "Div",
      "Pow",
      "Max",
      "Equal",
      "Less",
      "Greater",
    ]
  ) {
    await one(op, [f32([2, 3, 4]), f32([3, 1], 2)]);
    await one(op, [f32([4]), f32([2, 3, 4], 3)]);
  }
  await one("Add", [f32([2, 3]), f32([], 4)]);
  await one("Add", [f32([8, 4, 5, 5]), f32([8, 1, 1, 5], 2)]);
  await one("Div", [i64([4], [7, -7, 9, 1]), i64([4], [2, 2, -4, 3])]);
  await one("Mul", [
    tensor("i32", [3], [2 ** 30, 3, -5]),
    tensor("i32", [3], [7, 3, 9]),
  ]);
  for (
    const op of [
      "Sqrt",
      "Exp",
      "Log",
      "Erf",
      "Tanh",
      "Relu",
      "Sigmoid",
      "Neg",
      "Abs",
      "Floor",
    ]
  ) {
    await one(op, [tensor("f32", [5], [0.25, 1, 2.5, 3, 0.5])]);
  }
  await one("Dropout", [f32([2, 3])], {}, ["y", "mask"]);
  await one("Where", [
    tensor("bool", [2, 1], [1, 0]),
    f32([2, 3]),
    f32([3], 2),
  ]);
  for (const to of [1, 7, 9, 6]) {
    await one("Cast", [f32([2, 3])], { to: attr.int(to) });
  }
  await one("Cast", [i64([3], [1, 0, 5])], { to: attr.int(1) });
});

Deno.test("integer division by zero is an error", async () => {
  const g = graphOf([{ op: "Div", inputs: ["a", "b"] }], {
    a: i64([1], [1]),
    b: i64([1], [0]),
  });
  const engine = await Engine.create(g);
  assert.throws(
    () => engine.run({ a: i64([1], [1]), b: i64([1], [0]) }),
    EngineError,
  );
});

Deno.test("data-movement kernels match the reference", async () => {
  await one("Transpose", [f32([2, 3, 4])], { perm: attr.ints([2, 0, 1]) });
  await one("Transpose", [f32([2, 3, 4, 5])], {
    perm: attr.ints([0, 2, 1, 3]),
  });
  await one("Gather", [f32([3, 4]), i64([2, 2], [2, -1, 0, 1])], {
    axis: attr.int(1),
  });
  await one("Gather", [f32([5, 3]), i64([4], [4, 0, -2, 4])]);
  await one("Gather", [i64([3], [7, 8, 9]), i64([2], [2, 0])]);
  await one("Concat", [f32([2, 3]), f32([2, 1], 2), f32([2, 2], 3)], {
    axis: attr.int(1),
  });
  await one("Reshape", [f32([2, 6])], {}, undefined, [i64([2], [3, 4])]);
  await one("Unsqueeze", [f32([2, 3])], {}, undefined, [i64([1], [1])]);
  await one("Shape", [f32([2, 3, 4])], { start: attr.int(1) });
  for (const keepdims of [0, 1]) {
    for (const op of ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2"]) {
      const keep = { keepdims: attr.int(keepdims) };
      await one(op, [f32([2, 3, 4])], keep, undefined, [i64([2], [0, -1])]);
      await one(op, [f32([2, 3, 4])], { keepdims: attr.int(keepdims) });
    }
  }
  // Operands fixed at create time (constants) drive the index-map kernels.
  const x = f32([4, 6]);
  const sliced = graphOf(
    [{ op: "Slice", inputs: ["x", "s", "e", "a", "st"] }],
    { x },
    {
      s: i64([2], [1, 5]),
      e: i64([2], [4, 0]),
      a: i64([2], [0, 1]),
      st: i64([2], [2, -2]),
    },
  );
  assert.deepEqual((await check(sliced, { x })).fallbacks(), []);
  const split = graphOf(
    [{
      op: "Split",
      inputs: ["x", "sizes"],
      outputs: ["p", "q"],
      attrs: { axis: attr.int(1) },
    }],
    { x },
    { sizes: i64([2], [2, 4]) },
  );
  assert.deepEqual((await check(split, { x })).fallbacks(), []);
  const expand = graphOf([{ op: "Expand", inputs: ["x", "shape"] }], { x }, {
    shape: i64([3], [2, 4, 6]),
  });
  assert.deepEqual((await check(expand, { x })).fallbacks(), []);
});

Deno.test("MatMul and Gemm on the WASM GEMM", async () => {
  await one("MatMul", [f32([2, 1, 5, 7]), f32([3, 7, 13], 2)]);
  await one("MatMul", [f32([2, 3, 17, 9]), f32([9, 30], 2)]);
  await one("MatMul", [f32([7]), f32([7, 5], 2)]);
  await one("MatMul", [f32([3, 4, 7]), f32([7], 2)]);
  await one("Gemm", [f32([6, 5]), f32([7, 6], 2), f32([7], 3)], {
    transA: attr.int(1),
    transB: attr.int(1),
    alpha: attr.float(0.5),
    beta: attr.float(2),
  });
  await one("Gemm", [f32([5, 6]), f32([6, 7], 2), f32([5, 7], 3)]);
  await one("Gemm", [f32([5, 6]), f32([6, 7], 2), f32([5, 1], 3)]);
  await one("Gemm", [f32([5, 6]), f32([6, 7], 2), f32([], 3)]);
  // Batches whose operands advance evenly run as one gemmBatch call: both
  // advancing, B broadcast (step 0), and products whose work regions
  // (3.7 MB of packed A each) exceed one call's 8 MB, so they go two at a time.
  await one("MatMul", [f32([6, 17, 9]), f32([6, 9, 13], 2)]);
  await one("MatMul", [f32([4, 17, 9]), f32([1, 9, 13], 2)]);
  const big = { m: 15000, k: 64, n: 8, count: 3 };
  assert.equal(batchGroup(selectF32Params(), big).group, 2);
  await one("MatMul", [f32([3, 15000, 64]), f32([3, 64, 8], 2)]);
  // Reductions beyond one chunk (512), with a short last chunk.
  await one("MatMul", [f32([2, 3, 1100]), f32([1100, 7], 2)]);
  await one("Gemm", [f32([1030, 5]), f32([1030, 9], 2), f32([9], 3)], {
    transA: attr.int(1),
  });
  const x = f32([3, 1100]);
  const chunked = graphOf(
    [{ op: "MatMul", inputs: ["x", "w"], outputs: ["p"] }, {
      op: "Add",
      inputs: ["p", "b"],
    }],
    { x },
    { w: f32([1100, 13], 2), b: f32([13], 3) },
  );
  assert.deepEqual((await check(chunked, { x })).fallbacks(), []);
});

Deno.test("transposes feeding products fold into the GEMM's packing", async () => {
  const feeds = {
    a: f32([2, 3, 9, 5]),
    b: f32([2, 3, 9, 6], 2),
    w: f32([4, 5], 3),
    x: f32([8, 5], 4),
  };
  const g = graphOf([
    {
      op: "Transpose",
      inputs: ["a"],
      outputs: ["at"],
      attrs: { perm: attr.ints([0, 1, 3, 2]) },
    },
    { op: "MatMul", inputs: ["at", "b"], outputs: ["p"] },
    {
      op: "Transpose",
      inputs: ["w"],
      outputs: ["wt"],
      attrs: { perm: attr.ints([1, 0]) },
    },
    { op: "Gemm", inputs: ["x", "wt"], outputs: ["q"] },
    { op: "ReduceSum", inputs: ["p"], outputs: ["ps"] },
    { op: "ReduceSum", inputs: ["q"], outputs: ["qs"] },
    { op: "Add", inputs: ["ps", "qs"], outputs: ["y"] },
  ], feeds);
  const engine = await check(withParts(g, { outputs: ["p", "q", "y"] }), feeds);
  assert.deepEqual(
    engine.graph.nodes.map((n) => n.op).filter((op) => op === "Transpose"),
    [],
  );
});

Deno.test("per-column bias Adds fold into the GEMM epilogue", async () => {
  const feeds = { x: f32([2, 3, 5]) };
  const constants = { w: f32([5, 4], 2), b: f32([4], 3), c: f32([3, 4], 4) };
  const g = graphOf(
    [
      { op: "MatMul", inputs: ["x", "w"], outputs: ["p"] },
      { op: "Add", inputs: ["b", "p"], outputs: ["q"] },
      { op: "MatMul", inputs: ["q", "w2"], outputs: ["r"] },
      { op: "Add", inputs: ["r", "c"], outputs: ["y"] },
    ],
    feeds,
    { ...constants, w2: f32([4, 4], 5) },
  );
  const engine = await check(g, feeds);
  // The first Add is folded; the second adds a [3, 4] tensor, not a bias.
  assert.deepEqual(engine.graph.nodes.map((n) => n.op), [
    "MatMul",
    "MatMul",
    "Add",
  ]);
  assert.equal(engine.graph.nodes[0].inputs.length, 3);
});

Deno.test("generated f32 kernels cover LayerNorm, Softmax, Gelu and their grads", async () => {
  const x = f32([3, 4, 8]);
  await one("LayerNorm", [x, f32([8], 2), f32([8], 3)], {
    epsilon: attr.float(1e-5),
  }, ["y", "mean", "rstd"]);
  await one("LayerNorm", [x, f32([8], 2)]);
  await one("LayerNormGrad", [f32([3, 4, 8], 5), x, f32([8], 2)], {}, [
    "dx",
    "dg",
    "db",
  ]);
  await one("Softmax", [x]);
  await one("SoftmaxGrad", [f32([3, 4, 8], 5), x]);
  await one("Gelu", [x]);
  await one("GeluGrad", [f32([3, 4, 8], 5), x]);
  await one("TanhGrad", [f32([3, 4, 8], 5), x]);
  await one("GatherGrad", [f32([4, 8], 5), i64([4], [1, 3, 1, -1])], {
    rows: attr.int(5),
  });
  await one("SoftmaxCrossEntropy", [f32([4, 3]), i64([4], [0, 2, 1, 2])]);
  await one("SoftmaxCrossEntropyGrad", [
    f32([], 7),
    f32([4, 3]),
    i64([4], [0, 2, 1, 2]),
  ]);
  await one("MeanSquaredError", [f32([4, 1]), f32([4, 1], 2)]);
});

Deno.test("an op without a kernel runs on the reference and is listed", async () => {
  const x = f32([3, 4, 8]);
  const g = graphOf([{
    op: "Softmax",
    inputs: ["x"],
    attrs: { axis: attr.int(1) },
  }], { x });
  const engine = await check(g, { x });
  assert.deepEqual(engine.fallbacks(), [{ node: "n0", op: "Softmax" }]);
});

Deno.test("setConstant replaces a weight, and the packed copy follows", async () => {
  const x = f32([5, 6]);
  const g = graphOf([{ op: "MatMul", inputs: ["x", "w"] }], { x }, {
    w: f32([6, 4], 2),
  });
  const engine = await Engine.create(g);
  const before = engine.run({ x }).get("y0")!;
  const w2 = f32([6, 4], 9);
  engine.setConstant("w", w2);
  const after = engine.run({ x }).get("y0")!;
  const want = execute(withParts(g, { constants: [["w", w2]] }), { x }).get(
    "y0",
  )!;
  assert.ok(relativeError(after, want) < 1e-5);
  assert.ok(relativeError(before, want) > 1e-2);
  assert.throws(() => engine.setConstant("w", f32([4, 6])), EngineError);
  assert.throws(() => engine.run({}), EngineError);
  assert.throws(() => engine.run({ x: f32([6, 5]) }), EngineError);
});

Deno.test("a graph without static shapes is refused with a clear error", async () => {
  const g = makeGraph({
    name: "symbolic",
    inputs: ["x"],
    outputs: ["y"],
    constants: [],
    nodes: [makeNode("Relu", "relu", ["x"], ["y"])],
    types: [
      ["x", { dtype: "f32", shape: ["batch", 4] }],
      ["y", { dtype: "f32", shape: ["batch", 4] }],
    ],
  });
  await assert.rejects(() => Engine.create(g), /no static type/);
});
