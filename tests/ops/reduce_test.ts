import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { tensor as t } from "../../src/ir/tensor.ts";
import { OpError } from "../../src/ops/op_def.ts";
import { reduceOps } from "../../src/ops/reduce.ts";
import { assertTensor, infer, run } from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const x = t("f32", [2, 3], [1, 2, 3, 4, 5, 6]);
const axes = (...a: number[]) => t("i64", [a.length], a);
const keep0 = { keepdims: attr.int(0) };
const noop = { noop_with_empty_axes: attr.int(1) };

Deno.test("ReduceSum over one axis, with and without keepdims", () => {
  assertTensor(run("ReduceSum", [x, axes(1)]), t("f32", [2, 1], [6, 15]));
  assertTensor(run("ReduceSum", [x, axes(1)], keep0), t("f32", [2], [6, 15]));
  assertTensor(run("ReduceSum", [x, axes(-2)]), t("f32", [1, 3], [5, 7, 9]));
});

Deno.test("absent or empty axes reduce everything", () => {
  assertTensor(run("ReduceSum", [x]), t("f32", [1, 1], [21]));
  assertTensor(run("ReduceSum", [x, undefined], keep0), t("f32", [], [21]));
  assertTensor(run("ReduceSum", [x, axes()]), t("f32", [1, 1], [21]));
});

Deno.test("noop_with_empty_axes reduces each element alone", () => {
  const y = t("f32", [2], [-3, 4]);
  assertTensor(run("ReduceSum", [y, axes()], noop), y);
  assertTensor(run("ReduceMax", [y], noop), y);
  assertTensor(run("ReduceSumSquare", [y], noop), t("f32", [2], [9, 16]));
  assertTensor(run("ReduceL2", [y, axes()], noop), t("f32", [2], [3, 4]));
  // Non-empty axes are reduced as usual.
  assertTensor(run("ReduceSum", [y, axes(0)], noop), t("f32", [1], [1]));
});

Deno.test("each reduction on hand-computed values", () => {
  const cases: [string, number, number[]][] = [
    ["ReduceMean", 0, [2.5, 3.5, 4.5]],
    ["ReduceProd", 1, [6, 120]],
    ["ReduceMax", 0, [4, 5, 6]],
    ["ReduceMin", 1, [1, 4]],
    ["ReduceSumSquare", 1, [14, 77]],
    ["ReduceL2", 1, [Math.sqrt(14), Math.sqrt(77)]],
  ];
  for (const [op, axis, expected] of cases) {
    assertTensor(
      run(op, [x, axes(axis)], keep0),
      t("f32", [expected.length], expected),
      op,
    );
  }
});

Deno.test("several axes of a 3-D tensor, negative ones included", () => {
  const cube = t("i32", [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  assertTensor(
    run("ReduceSum", [cube, axes(0, -1)], keep0),
    t("i32", [2], [10, 18]),
  );
  assertTensor(
    run("ReduceMax", [cube, axes(2, 0)]),
    t("i32", [1, 2, 1], [5, 7]),
  );
});

Deno.test("integer ReduceMean truncates; ReduceMax takes bool", () => {
  assertTensor(
    run("ReduceMean", [t("i32", [2], [1, 2])], keep0),
    t("i32", [], [1]),
  );
  assertTensor(
    run("ReduceMax", [t("bool", [2, 2], [0, 1, 0, 0]), axes(1)], keep0),
    t("bool", [2], [1, 0]),
  );
  assert.throws(() => run("ReduceSum", [t("bool", [1], [1])]), OpError);
});

Deno.test("reducing no values gives the operation's identity", () => {
  const empty = t("f32", [2, 0], []);
  const cases: [string, number][] = [
    ["ReduceSum", 0],
    ["ReduceProd", 1],
    ["ReduceMax", -Infinity],
    ["ReduceMin", Infinity],
    ["ReduceMean", NaN],
    ["ReduceSumSquare", 0],
    ["ReduceL2", 0],
  ];
  for (const [op, value] of cases) {
    assertTensor(
      run(op, [empty, axes(1)]),
      t("f32", [2, 1], [value, value]),
      op,
    );
  }
  assertTensor(
    run("ReduceMax", [t("i32", [0], [])], keep0),
    t("i32", [], [-(2 ** 31)]),
  );
  assertTensor(run("ReduceMin", [t("u8", [0], [])], keep0), t("u8", [], [255]));
  // Reducing a non-empty axis of an empty tensor gives an empty tensor.
  assertTensor(run("ReduceSum", [empty, axes(0)]), t("f32", [1, 0], []));
});

Deno.test("bad axes are rejected", () => {
  assert.throws(() => run("ReduceSum", [x, axes(2)]), /axis 2 is out of range/);
  assert.throws(
    () => run("ReduceSum", [x, axes(1, -1)]),
    /axis -1 is repeated/,
  );
  assert.throws(
    () => run("ReduceSum", [x, t("i32", [1], [0])]),
    /axes must be a 1-D i64 tensor/,
  );
});

Deno.test("infer keeps symbolic dims and needs constant axes", () => {
  const data = { dtype: "f32" as const, shape: ["batch", "seq", 768] };
  const axesType = { dtype: "i64" as const, shape: [1] };
  assert.deepEqual(
    infer("ReduceMean", [data, axesType], [undefined, axes(-1)]),
    [{ dtype: "f32", shape: ["batch", "seq", 1] }],
  );
  assert.deepEqual(
    infer("ReduceMean", [data, axesType], [undefined, axes(1)], keep0),
    [{ dtype: "f32", shape: ["batch", 768] }],
  );
  assert.throws(
    () => infer("ReduceMean", [data, axesType]),
    /axes must be a constant/,
  );
  assert.throws(
    () => infer("ReduceMean", [data, { dtype: "i64", shape: ["k"] }]),
    OpError,
  );
});

Deno.test("infer knows empty axes from their type alone", () => {
  const data = { dtype: "f16" as const, shape: ["n", 4] };
  const emptyAxes = { dtype: "i64" as const, shape: [0] };
  assert.deepEqual(infer("ReduceL2", [data, emptyAxes]), [
    { dtype: "f16", shape: [1, 1] },
  ]);
  assert.deepEqual(infer("ReduceL2", [data, emptyAxes], [], noop), [data]);
  assert.deepEqual(infer("ReduceSum", [data], [], keep0), [
    { dtype: "f16", shape: [] },
  ]);
});

registerNodeTests(reduceOps.map((d) => d.name), {
  untested: [
    "ReduceProd",
    "ReduceMax",
    "ReduceMin",
    "ReduceSumSquare",
    "ReduceL2",
  ],
});
