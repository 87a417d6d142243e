import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { scalar, tensor } from "../../src/ir/tensor.ts";
import { generatorOps } from "../../src/ops/generators.ts";
import {
  assertOpError,
  assertTensor,
  defIn,
  evaluate,
  infer,
  vt,
} from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const constantOfShape = defIn(generatorOps, "ConstantOfShape");
const range = defIn(generatorOps, "Range");
const nonZero = defIn(generatorOps, "NonZero");
const i64 = (values: number[]) => tensor("i64", [values.length], values);

Deno.test("ConstantOfShape fills with value, f32 0 by default", () => {
  assertTensor(
    evaluate(constantOfShape, [i64([2, 2])])[0],
    tensor("f32", [2, 2], [0, 0, 0, 0]),
  );
  const [y] = evaluate(constantOfShape, [i64([3])], {
    value: attr.tensor(tensor("i32", [1], [7])),
  });
  assertTensor(y, tensor("i32", [3], [7, 7, 7]));
  assertTensor(evaluate(constantOfShape, [i64([])])[0], scalar("f32", 0));
  assertOpError(() => evaluate(constantOfShape, [i64([-1])]), /invalid shape/);
  assertOpError(
    () =>
      evaluate(constantOfShape, [i64([1])], {
        value: attr.tensor(i64([1, 2])),
      }),
    /one-element/,
  );
  assert.deepEqual(
    infer(constantOfShape, [vt("i64", [2])])[0],
    vt("f32", ["n:d0", "n:d1"]),
  );
  assert.deepEqual(
    infer(constantOfShape, [vt("i64", [2])], [i64([4, 5])])[0],
    vt("f32", [4, 5]),
  );
});

Deno.test("Range counts up and down", () => {
  const run = (dtype: "f32" | "i32", a: number, b: number, d: number) =>
    evaluate(range, [scalar(dtype, a), scalar(dtype, b), scalar(dtype, d)])[0];
  assertTensor(run("i32", 10, 4, -3), tensor("i32", [2], [10, 7]));
  assertTensor(
    run("f32", 1, 2, 0.25),
    tensor("f32", [4], [1, 1.25, 1.5, 1.75]),
  );
  assertTensor(run("i32", 5, 1, 1), tensor("i32", [0], []));
  assertOpError(() => run("i32", 0, 1, 0), /delta/);
  const s = vt("i64", []);
  assert.deepEqual(infer(range, [s, s, s])[0], vt("i64", ["n:d0"]));
  const known = infer(range, [s, s, s], [
    scalar("i64", 0),
    scalar("i64", 7),
    scalar("i64", 2),
  ]);
  assert.deepEqual(known[0], vt("i64", [4]));
  assertOpError(() => infer(range, [s, vt("i32", []), s]), /differ in dtype/);
});

Deno.test("NonZero lists indices column by column", () => {
  const x = tensor("f32", [2, 3], [0, 1, 0, 2, 0, 3]);
  assertTensor(
    evaluate(nonZero, [x])[0],
    tensor("i64", [2, 3], [0, 1, 1, 1, 0, 2]),
  );
  assert.deepEqual(
    infer(nonZero, [vt("f32", ["b", 3])])[0],
    vt("i64", [2, "n:d1"]),
  );
  assert.deepEqual(
    infer(nonZero, [vt("f32", [2, 3])], [x])[0],
    vt("i64", [2, 3]),
  );
});

// The main set's Range tests (bfloat16 among them) are of opset 27, beyond
// the frontend's: they are registered as checks that the import is refused.
// The legacy set's Range tests run.
registerNodeTests(["ConstantOfShape", "Range", "NonZero"], {
  untested: ["NonZero"],
});
