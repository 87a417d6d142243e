/**
 * The specialised loops of the TypeScript kernels — f32 Add/Sub/Mul/Div by
 * broadcast pattern, Transpose by run copy, row gather and tiles, sums over
 * rows — and the generated kernels that take over one-row binaries and
 * head-split Transposes (on one and on two threads) bit for bit against the
 * reference executor, on BERT-mini's shapes
 * and on odd ones (widths off any multiple, ranks 1–5, broadcasts on each
 * side, size-1 dims), so a fast path that reorders or misreads anything
 * fails. Also the plans that pick those paths: `rowPlan` and `simplify`.
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { rowPlan } from "../../runtime/engine/kernels/broadcast.ts";
import { simplify } from "../../runtime/engine/kernels/transpose.ts";
import { execute } from "../../src/executor/execute.ts";
import type { DType } from "../../src/ir/dtype.ts";
import {
  attr,
  type Attrs,
  makeGraph,
  makeNode,
  withParts,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { propagate } from "../../src/passes/propagate.ts";

/**
 * Deterministic values of both signs over forty orders of magnitude, so
 * partial sums cancel and a sum in another order rounds differently even
 * after the result is rounded to f32.
 */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const u = s / 2 ** 31;
    return (u * 4 - 2) * 10 ** ((s >> 8) % 40 - 20);
  });
}

/**
 * Values for sums: small ones, then ±2⁷⁰ in turn at every third element, so
 * `(acc + 2⁷⁰) − 2⁷⁰` drops what `acc` held: any other order or grouping
 * of the additions keeps or drops different parts and gives other bits.
 */
function cancelling(shape: number[]): Tensor {
  const small = values(size(shape), 3).map((v) => Math.sign(v) + v * 1e-3);
  const big = [0, 2 ** 70, -(2 ** 70)];
  return tensor("f32", shape, small.map((v, i) => big[i % 3] || v));
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], seed = 1) =>
  tensor("f32", shape, values(size(shape), seed));
const of = (dtype: DType, shape: number[]) =>
  tensor(dtype, shape, Array.from({ length: size(shape) }, (_, i) => i % 97));

/**
 * Asserts `got` and `want` hold the same element bytes, naming the first
 * element that differs (a diff of megabyte arrays would not fit in memory).
 */
function assertSameBits(got: Tensor, want: Tensor, label: string): void {
  assert.deepEqual(got.shape, want.shape, label);
  const bytes = (t: Tensor) =>
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const [g, w] = [bytes(got), bytes(want)];
  assert.equal(g.length, w.length, label);
  const at = g.findIndex((b, i) => b !== w[i]);
  if (at >= 0) {
    const k = Math.floor(at / want.data.BYTES_PER_ELEMENT);
    assert.fail(
      `${label}: element ${k} is ${got.data[k]}, not ${want.data[k]}`,
    );
  }
}

/**
 * One node on fed inputs `x0, x1, …` and constants `c0, c1, …`: the
 * engine's output equals the reference's bit for bit, and nothing fell
 * back to the reference kernel.
 */
async function exact(
  op: string,
  inputs: Tensor[],
  attrs: Attrs = {},
  constants: Tensor[] = [],
  threads = 1,
): Promise<Engine> {
  const feeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
  const fixed = constants.map((t, i) => [`c${i}`, t] as [string, Tensor]);
  const names = [...Object.keys(feeds), ...fixed.map(([n]) => n)];
  const g = makeGraph({
    name: op,
    inputs: Object.keys(feeds),
    outputs: ["y"],
    constants: fixed,
    nodes: [makeNode(op, "n", names, ["y"], attrs)],
    types: inputs.map((t, i) => [`x${i}`, { dtype: t.dtype, shape: t.shape }]),
  });
  const graph = withParts(g, { types: propagate(g).types });
  const engine = await Engine.create(graph, { threads });
  const want = execute(graph, feeds).get("y")!;
  const got = engine.run(feeds).get("y")!;
  const label = `${op} ${inputs.map((t) => `[${t.shape}]`).join(" ")} ${
    JSON.stringify(attrs)
  }`;
  assert.deepEqual(engine.fallbacks(), [], `${label} fell back`);
  assertSameBits(got, want, label);
  return engine;
}

Deno.test("f32 binary loops match the reference bit for bit", async () => {
  // [a, b]: same shape, bias rows, scalars, the attention mask, middle and
  // outer broadcasts, a per-row scalar, each side broadcast in turn.
  const pairs: [number[], number[]][] = [
    [[8, 128, 256], [8, 128, 256]],
    [[8, 128, 256], [1, 128, 256]],
    [[8, 4, 128, 128], [8, 1, 1, 128]],
    [[8, 4, 128, 128], []],
    [[8, 128, 1024], [1024]],
    [[13], [13]],
    [[2, 3, 5, 7, 3], [2, 3, 5, 7, 3]],
    [[7, 5, 13], [13]],
    [[13], [7, 5, 13]],
    [[3, 37], [1]],
    [[1, 1], [3, 37]],
    [[2, 3, 5, 7], [2, 1, 1, 7]],
    [[2, 1, 1, 7], [2, 3, 5, 7]],
    [[2, 1, 5], [2, 3, 5]],
    [[3, 1], [1, 4]],
    [[4, 6], [4, 1]],
    [[4, 1], [4, 6]],
    [[2, 3, 1, 5], [3, 4, 1]],
  ];
  for (const op of ["Add", "Sub", "Mul", "Div"]) {
    for (const [a, b] of pairs) await exact(op, [f32(a, 1), f32(b, 2)]);
  }
});

Deno.test("a broadcast constant is read on every run", async () => {
  /** `x / c`, `c` a replaceable f32 constant. */
  const scale = (c: number) => {
    const g = makeGraph({
      name: "scale",
      inputs: ["x"],
      outputs: ["y"],
      constants: [["c", tensor("f32", [], [c])]],
      nodes: [makeNode("Div", "n", ["x", "c"], ["y"])],
      types: [["x", { dtype: "f32", shape: [4, 33] }]],
    });
    return withParts(g, { types: propagate(g).types });
  };
  const engine = await Engine.create(scale(8));
  const x = f32([4, 33]);
  engine.run({ x });
  engine.setConstant("c", tensor("f32", [], [3]));
  const got = engine.run({ x }).get("y")!;
  const want = execute(scale(3), { x }).get("y")!;
  assertSameBits(got, want, "Div by a replaced constant");
});

Deno.test("the general elementwise path reads the same rows", async () => {
  await exact("Add", [of("i32", [2, 3, 5, 7]), of("i32", [2, 1, 1, 7])]);
  await exact("Mul", [of("i32", [3, 1]), of("i32", [1, 4])]);
  await exact("Max", [f32([7, 5, 13], 1), f32([13], 2)]);
  await exact("Where", [
    tensor("bool", [2, 1, 5], [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]),
    f32([2, 3, 5], 1),
    f32([], 2),
  ]);
});

Deno.test("Transpose matches the reference bit for bit", async () => {
  const cases: [number[], number[]][] = [
    // BERT-mini's head split and merge, the key transpose, the grads.
    [[8, 128, 4, 64], [0, 2, 1, 3]],
    [[8, 128, 4, 64], [0, 2, 3, 1]],
    [[8, 4, 128, 64], [0, 2, 1, 3]],
    [[8, 4, 128, 64], [0, 1, 3, 2]],
    [[8, 4, 64, 128], [0, 3, 1, 2]],
    [[8, 4, 128, 128], [0, 1, 3, 2]],
    // Tiles (strided rows past 256), with partial tiles on both sides.
    [[300, 37], [1, 0]],
    [[1024, 256], [1, 0]],
    [[3, 517, 20], [2, 1, 0]],
    [[2, 261, 3, 17], [0, 2, 3, 1]],
    // Strided rows four at a time (width odd) or one at a time.
    [[5, 8], [1, 0]],
    [[3, 7, 12], [0, 2, 1]],
    [[6, 7], [1, 0]],
    [[2, 6, 7], [0, 2, 1]],
    // Contiguous runs: short (a loop), long (a memmove), odd lengths.
    [[5, 7, 3], [1, 0, 2]],
    [[3, 4, 65], [1, 0, 2]],
    [[2, 3, 5, 7, 67], [3, 1, 4, 0, 2]],
    [[2, 3, 5, 7, 67], [4, 3, 2, 1, 0]],
    [[2, 3, 5, 7, 3], [0, 1, 2, 3, 4]],
    // Size-1 dims, merged axes, rank 1 and 2.
    [[1, 6, 1, 9], [3, 2, 0, 1]],
    [[6, 1, 9, 1], [1, 3, 0, 2]],
    [[4, 5, 6, 7], [2, 3, 0, 1]],
    [[11], [0]],
    [[4, 9], [1, 0]],
  ];
  for (const [shape, perm] of cases) {
    await exact("Transpose", [f32(shape)], { perm: attr.ints(perm) });
  }
  await exact("Transpose", [f32([3, 5, 7])]);
  // Other element sizes: 8-byte rows long enough to memmove, bytes, ints.
  await exact("Transpose", [of("i64", [3, 4, 40])], {
    perm: attr.ints([1, 0, 2]),
  });
  await exact("Transpose", [of("bool", [3, 4, 5])], {
    perm: attr.ints([2, 0, 1]),
  });
  await exact("Transpose", [of("i32", [300, 3])], {
    perm: attr.ints([1, 0]),
  });
});

Deno.test("the generated Add, Div, head-split Transpose, dropout and column sums split between two threads match the reference", async () => {
  const dropout = { ratio: attr.float(0.1), stream: attr.int(3) };
  const runs: [string, Tensor[], Attrs][] = [
    ["Add", [f32([8, 128, 256], 1), f32([8, 128, 256], 2)], {}],
    ["Div", [f32([8, 4, 128, 128], 1), f32([], 2)], {}],
    ["Transpose", [f32([8, 128, 4, 64])], { perm: attr.ints([0, 2, 1, 3]) }],
    // A ragged element count; the mask nobody reads goes to scratch.
    ["DropoutTrain", [f32([3, 77, 401]), tensor("i64", [], [12])], dropout],
    ["DropoutGrad", [f32([3, 77, 401]), of("bool", [3, 77, 401])], dropout],
  ];
  for (const [op, inputs, attrs] of runs) {
    using engine = await exact(op, inputs, attrs, [], 2);
    assert.equal(engine.splitKernelCalls, 1, `${op} was split`);
  }
  // A bias gradient's sum, split by columns (1,030: a ragged last chunk).
  using sums = await exact(
    "ReduceSum",
    [cancelling([8, 128, 1030])],
    { keepdims: attr.int(0) },
    [tensor("i64", [2], [0, 1])],
    2,
  );
  assert.equal(sums.splitKernelCalls, 1, "ReduceSum was split");
});

Deno.test("sums match the reference bit for bit, in its order", async () => {
  const i64 = (axes: number[]) => tensor("i64", [axes.length], axes);
  // [shape, axes]: BERT-mini's bias gradients (leading axes), then row
  // counts off a multiple of four, middle, trailing and all axes.
  const cases: [number[], number[]][] = [
    [[8, 128, 256], [0, 1]],
    [[8, 128, 1024], [0, 1]],
    [[8, 128, 256], [0]],
    [[8, 256], [0]],
    [[8, 2], [0]],
    [[3, 5, 7], [0, 1]],
    [[7, 13], [0]],
    [[4, 3, 5], [1]],
    [[2, 3, 4, 5], [0, 2]],
    [[2, 3, 4, 5], [1, 3]],
    [[5, 3, 300], [2]],
    [[5, 3, 7], [1, 2]],
    [[2, 3, 5, 7, 3], [0, 1, 2, 3, 4]],
    [[9], [0]],
  ];
  for (const op of ["ReduceSum", "ReduceMean"]) {
    for (const [shape, axes] of cases) {
      for (const keepdims of [0, 1]) {
        await exact(op, [cancelling(shape)], { keepdims: attr.int(keepdims) }, [
          i64(axes),
        ]);
      }
    }
    await exact(op, [cancelling([3, 5, 7])]);
  }
  await exact("ReduceSum", [of("i32", [6, 5, 3])], {}, [i64([0, 2])]);
});

Deno.test("rowPlan makes rows as long as every operand allows", () => {
  const plan = (shapes: number[][], out: number[]) => {
    const p = rowPlan(shapes, out);
    return [p.width, p.rows, p.operands.map((o) => o.step)];
  };
  assert.deepEqual(plan([[8, 128, 256], [8, 128, 256]], [8, 128, 256]), [
    262144,
    1,
    [1, 1],
  ]);
  assert.deepEqual(plan([[8, 4, 128, 128], []], [8, 4, 128, 128]), [
    524288,
    1,
    [1, 0],
  ]);
  assert.deepEqual(plan([[8, 128, 256], [256]], [8, 128, 256]), [
    256,
    1024,
    [1, 1],
  ]);
  assert.deepEqual(plan([[8, 128, 256], [1, 128, 256]], [8, 128, 256]), [
    32768,
    8,
    [1, 1],
  ]);
  assert.deepEqual(
    plan([[8, 4, 128, 128], [8, 1, 1, 128]], [8, 4, 128, 128]),
    [128, 4096, [1, 1]],
  );
  assert.deepEqual(plan([[4, 6], [4, 1]], [4, 6]), [6, 4, [1, 0]]);
  assert.deepEqual(plan([[3, 1], [3, 1]], [3, 1]), [3, 1, [1, 1]]);
  assert.deepEqual(plan([[1, 3, 1, 5]], [4, 3, 2, 5]), [5, 24, [1]]);
  assert.deepEqual(Array.from(rowPlan([[4, 1]], [4, 6]).operands[0].starts), [
    0,
    1,
    2,
    3,
  ]);
});

Deno.test("simplify drops size-1 dims and merges axes that stay together", () => {
  assert.deepEqual(simplify({ dims: [8, 128, 4, 64], perm: [0, 2, 3, 1] }), {
    dims: [8, 128, 256],
    perm: [0, 2, 1],
  });
  assert.deepEqual(simplify({ dims: [8, 4, 128, 64], perm: [0, 1, 3, 2] }), {
    dims: [32, 128, 64],
    perm: [0, 2, 1],
  });
  assert.deepEqual(simplify({ dims: [8, 128, 4, 64], perm: [0, 2, 1, 3] }), {
    dims: [8, 128, 4, 64],
    perm: [0, 2, 1, 3],
  });
  assert.deepEqual(simplify({ dims: [1, 6, 1, 9], perm: [3, 2, 0, 1] }), {
    dims: [6, 9],
    perm: [1, 0],
  });
  assert.deepEqual(simplify({ dims: [2, 3, 4], perm: [0, 1, 2] }), {
    dims: [24],
    perm: [0],
  });
  assert.deepEqual(simplify({ dims: [1, 1], perm: [1, 0] }), {
    dims: [],
    perm: [],
  });
});
