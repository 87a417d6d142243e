import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { sliceSplitOps } from "../../src/ops/slice_split.ts";
import {
  assertOpError,
  assertTensor,
  defIn,
  evaluate,
  infer,
  vt,
} from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const slice = defIn(sliceSplitOps, "Slice");
const split = defIn(sliceSplitOps, "Split");
const i64 = (values: number[]) => tensor("i64", [values.length], values);
const f32 = (shape: number[], values: number[]) => tensor("f32", shape, values);
const iota = (n: number) => f32([n], Array.from({ length: n }, (_, i) => i));
/** What exporters write for INT64_MAX / INT64_MIN, as JS numbers. */
const INT64_MAX = 9223372036854775807;
const INT64_MIN = -9223372036854775808;

Deno.test("Slice clamps and honours negative bounds", () => {
  const x = iota(10);
  const run = (starts: number[], ends: number[], steps?: number[]): Tensor =>
    evaluate(slice, [
      x,
      i64(starts),
      i64(ends),
      undefined,
      steps && i64(steps),
    ])[0];
  assertTensor(run([2], [5]), f32([3], [2, 3, 4]));
  assertTensor(run([-3], [INT64_MAX]), f32([3], [7, 8, 9]));
  assertTensor(run([INT64_MIN], [2]), f32([2], [0, 1]));
  assertTensor(run([1], [100], [3]), f32([3], [1, 4, 7]));
  assertTensor(run([5], [2]), f32([0], []));
});

Deno.test("Slice with negative steps runs backwards", () => {
  const x = iota(5);
  const run = (starts: number[], ends: number[], steps: number[]): Tensor =>
    evaluate(slice, [x, i64(starts), i64(ends), i64([0]), i64(steps)])[0];
  assertTensor(run([-1], [INT64_MIN], [-1]), f32([5], [4, 3, 2, 1, 0]));
  assertTensor(run([INT64_MAX], [0], [-2]), f32([2], [4, 2]));
  assertTensor(run([3], [-100], [-1]), f32([4], [3, 2, 1, 0]));
  assertTensor(run([1], [3], [-1]), f32([0], []));
});

Deno.test("Slice over several axes of a matrix", () => {
  const x = f32([3, 4], Array.from({ length: 12 }, (_, i) => i));
  const [y] = evaluate(slice, [
    x,
    i64([1, -1]),
    i64([3, 0]),
    i64([0, 1]),
    i64([1, -2]),
  ]);
  assertTensor(y, f32([2, 2], [7, 5, 11, 9]));
  assertOpError(
    () => evaluate(slice, [x, i64([0]), i64([1]), i64([0]), i64([0])]),
    /steps must not be 0/,
  );
  assertOpError(
    () => evaluate(slice, [x, i64([0, 0]), i64([1, 1]), i64([1, -1])]),
    /duplicate axes/,
  );
  assertOpError(
    () => evaluate(slice, [x, i64([0]), i64([1, 2])]),
    /differ in length/,
  );
});

Deno.test("Slice infers symbolic dims", () => {
  const x = vt("f32", ["b", "s", 8]);
  const ops = [x, vt("i64", [2]), vt("i64", [2]), vt("i64", [2])];
  const whole = infer(slice, ops, [
    undefined,
    i64([0, 2]),
    i64([INT64_MAX, 6]),
    i64([1, 2]),
  ]);
  assert.deepEqual(whole[0].shape, ["b", "s", 4]);
  const part = infer(slice, ops, [
    undefined,
    i64([0, 0]),
    i64([3, 8]),
    i64([0, -1]),
  ]);
  assert.deepEqual(part[0].shape, ["n:d0", "s", 8]);
  const unknownStarts = infer(slice, ops, [
    undefined,
    undefined,
    undefined,
    i64([1, 2]),
  ]);
  assert.deepEqual(unknownStarts[0].shape, ["b", "n:d1", "n:d2"]);
  const unknownAxes = infer(slice, ops);
  assert.deepEqual(unknownAxes[0].shape, ["n:d0", "n:d1", "n:d2"]);
  const defaultAxes = infer(slice, ops.slice(0, 3));
  assert.deepEqual(defaultAxes[0].shape, ["n:d0", "n:d1", 8]);
});

Deno.test("Split into equal parts, the last one smaller", () => {
  const parts = evaluate(split, [iota(7)], { num_outputs: attr.int(3) }, 3);
  assert.deepEqual(parts.map((p) => Array.from(p.data)), [
    [0, 1, 2],
    [3, 4, 5],
    [6],
  ]);
  const even = evaluate(split, [iota(6)], {}, 3);
  assert.deepEqual(even.map((p) => p.shape), [[2], [2], [2]]);
  assertOpError(
    () => evaluate(split, [iota(5)], {}, 4),
    /cannot split 5 into 4/,
  );
  assertOpError(
    () => evaluate(split, [iota(6)], { num_outputs: attr.int(2) }, 3),
    /num_outputs is 2/,
  );
});

Deno.test("Split by sizes along an axis", () => {
  const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const [a, b] = evaluate(split, [x, i64([1, 2])], { axis: attr.int(-1) }, 2);
  assertTensor(a, f32([2, 1], [1, 4]));
  assertTensor(b, f32([2, 2], [2, 3, 5, 6]));
  assertOpError(
    () => evaluate(split, [x, i64([1, 1])], { axis: attr.int(1) }, 2),
    /sum to 3/,
  );
  assertOpError(
    () => evaluate(split, [x, i64([3])], { axis: attr.int(1) }, 2),
    /2 sizes/,
  );
});

Deno.test("Split infers symbolic parts", () => {
  const x = vt("f32", ["b", 768 * 3]);
  const types = infer(split, [x], [], { axis: attr.int(1) }, 3);
  assert.deepEqual(types.map((t) => t.shape), [["b", 768], ["b", 768], [
    "b",
    768,
  ]]);
  const sym = infer(split, [vt("f32", ["s"])], [], {}, 2);
  assert.deepEqual(sym.map((t) => t.shape), [["n:d0"], ["n:o1:d0"]]);
  const unknown = infer(
    split,
    [x, vt("i64", [2])],
    [],
    { axis: attr.int(1) },
    2,
  );
  assert.deepEqual(unknown[1].shape, ["b", "n:o1:d1"]);
});

registerNodeTests(["Slice", "Split"]);
