import assert from "node:assert/strict";
import { tensor as t } from "../../src/ir/tensor.ts";
import { logicalOps } from "../../src/ops/logical.ts";
import { OpError } from "../../src/ops/op_def.ts";
import { assertTensor, infer, run } from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

Deno.test("comparisons broadcast and give bool; NaN compares false", () => {
  const a = t("f32", [2, 3], [1, 2, 3, NaN, 5, 6]);
  const b = t("f32", [3], [2, 2, 2]);
  const cases: [string, number[]][] = [
    ["Equal", [0, 1, 0, 0, 0, 0]],
    ["Less", [1, 0, 0, 0, 0, 0]],
    ["LessOrEqual", [1, 1, 0, 0, 0, 0]],
    ["Greater", [0, 0, 1, 0, 1, 1]],
    ["GreaterOrEqual", [0, 1, 1, 0, 1, 1]],
  ];
  for (const [op, expected] of cases) {
    assertTensor(run(op, [a, b]), t("bool", [2, 3], expected), op);
  }
});

Deno.test("comparisons of integers, f16 and bool", () => {
  assertTensor(
    run("Less", [t("i64", [2], [-(2 ** 40), 7]), t("i64", [], [0])]),
    t("bool", [2], [1, 0]),
  );
  // 1.0001 rounds to 1 in f16, so the two are equal there.
  assertTensor(
    run("Equal", [t("f16", [1], [1.0001]), t("f16", [1], [1])]),
    t("bool", [1], [1]),
  );
  assertTensor(
    run("Equal", [t("bool", [2], [1, 0]), t("bool", [2], [1, 1])]),
    t("bool", [2], [1, 0]),
  );
  assert.throws(
    () => run("Less", [t("bool", [1], [1]), t("bool", [1], [0])]),
    OpError,
  );
  assert.throws(
    () => run("Equal", [t("i32", [1], [1]), t("i64", [1], [1])]),
    /input 1 is i64 but input 0 is i32/,
  );
});

Deno.test("Not, And, Or, Xor truth tables", () => {
  const p = t("bool", [4], [0, 0, 1, 1]);
  const q = t("bool", [4], [0, 1, 0, 1]);
  assertTensor(run("Not", [p]), t("bool", [4], [1, 1, 0, 0]));
  assertTensor(run("And", [p, q]), t("bool", [4], [0, 0, 0, 1]));
  assertTensor(run("Or", [p, q]), t("bool", [4], [0, 1, 1, 1]));
  assertTensor(run("Xor", [p, q]), t("bool", [4], [0, 1, 1, 0]));
  assertTensor(
    run("And", [t("bool", [2, 1], [1, 0]), t("bool", [2], [1, 1])]),
    t("bool", [2, 2], [1, 1, 0, 0]),
  );
});

Deno.test("boolean ops take only bool", () => {
  assert.throws(() => run("Not", [t("f32", [1], [1])]), OpError);
  assert.throws(
    () => run("Or", [t("u8", [1], [1]), t("u8", [1], [0])]),
    /input 0 has type u8, not bool/,
  );
});

Deno.test("Where broadcasts three ways", () => {
  const cond = t("bool", [2, 1], [1, 0]);
  const x = t("i64", [1, 3], [1, 2, 3]);
  const y = t("i64", [], [-1]);
  assertTensor(
    run("Where", [cond, x, y]),
    t("i64", [2, 3], [1, 2, 3, -1, -1, -1]),
  );
});

Deno.test("Where checks its types", () => {
  const x = t("f32", [2], [1, 2]);
  assert.throws(() => run("Where", [t("f32", [2], [1, 0]), x, x]), OpError);
  assert.throws(
    () => run("Where", [t("bool", [2], [1, 0]), x, t("f64", [2], [0, 0])]),
    /input 2 is f64 but input 1 is f32/,
  );
  assert.throws(
    () => run("Where", [t("bool", [3], [1, 0, 1]), x, x]),
    /do not broadcast/,
  );
});

Deno.test("infer with symbolic dims", () => {
  assert.deepEqual(
    infer("Equal", [
      { dtype: "i64", shape: ["batch", 1] },
      { dtype: "i64", shape: ["seq"] },
    ]),
    [{ dtype: "bool", shape: ["batch", "seq"] }],
  );
  assert.deepEqual(
    infer("Where", [
      { dtype: "bool", shape: [1, 1, "seq"] },
      { dtype: "f32", shape: ["batch", 12, "seq", "seq"] },
      { dtype: "f32", shape: [] },
    ]),
    [{ dtype: "f32", shape: ["batch", 12, "seq", "seq"] }],
  );
  assert.deepEqual(infer("Not", [{ dtype: "bool", shape: ["n"] }]), [
    { dtype: "bool", shape: ["n"] },
  ]);
  assert.throws(
    () =>
      infer("Greater", [
        { dtype: "f32", shape: [2, "a"] },
        { dtype: "f32", shape: [3, "a"] },
      ]),
    /do not broadcast/,
  );
});

// ONNX string tensors have no IR type.
// test_equal_string{,_broadcast} are registered as checks that the import is
// refused, naming STRING.
registerNodeTests(logicalOps.map((d) => d.name), {
  untested: ["Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Or", "Xor"],
});
