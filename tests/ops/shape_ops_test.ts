import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { shapeOps } from "../../src/ops/shape_ops.ts";
import {
  assertOpError,
  assertTensor,
  defIn,
  evaluate,
  infer,
  vt,
} from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const op = (name: string) => defIn(shapeOps, name);
const i64 = (values: number[]) => tensor("i64", [values.length], values);
const iota = (shape: number[]) =>
  tensor(
    "f32",
    shape,
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i),
  );

Deno.test("Reshape copies 0 dims and infers -1", () => {
  const [y] = evaluate(op("Reshape"), [iota([2, 3, 4]), i64([0, -1])]);
  assertTensor(y, iota([2, 12]));
  const [z] = evaluate(op("Reshape"), [iota([2, 3, 4]), i64([4, 0, -1])]);
  assert.deepEqual(z.shape, [4, 3, 2]);
});

Deno.test("Reshape with allowzero keeps 0 as a dim", () => {
  const [y] = evaluate(
    op("Reshape"),
    [tensor("f32", [0, 3], []), i64([3, 0])],
    {
      allowzero: attr.int(1),
    },
  );
  assert.deepEqual(y.shape, [3, 0]);
  assertOpError(
    () =>
      evaluate(op("Reshape"), [iota([2, 3]), i64([0, -1])], {
        allowzero: attr.int(1),
      }),
    /allowzero/,
  );
});

Deno.test("Reshape rejects bad shapes", () => {
  assertOpError(
    () => evaluate(op("Reshape"), [iota([2, 3]), i64([4, -1])]),
    /cannot reshape/,
  );
  assertOpError(
    () => evaluate(op("Reshape"), [iota([2, 3]), i64([-1, -1])]),
    /more than one/,
  );
  assertOpError(
    () => evaluate(op("Reshape"), [iota([2, 3]), i64([5])]),
    /cannot reshape/,
  );
});

Deno.test("Reshape infers through symbolic dims", () => {
  const x = vt("f32", ["batch", "seq", 768]);
  const shape = vt("i64", [4]);
  const heads = infer(op("Reshape"), [x, shape], [
    undefined,
    i64([0, 0, 12, 64]),
  ]);
  assert.deepEqual(heads[0].shape, ["batch", "seq", 12, 64]);
  const back = infer(
    op("Reshape"),
    [vt("f32", ["b", 12, 64]), vt("i64", [2])],
    [
      undefined,
      i64([-1, 768]),
    ],
  );
  assert.deepEqual(back[0].shape, ["b", 768]);
  const flat = infer(op("Reshape"), [x, vt("i64", [2])], [
    undefined,
    i64([-1, 768]),
  ]);
  assert.deepEqual(flat[0].shape, ["n:d0", 768]);
  const unknown = infer(op("Reshape"), [x, shape]);
  assert.deepEqual(unknown[0].shape, ["n:d0", "n:d1", "n:d2", "n:d3"]);
  assertOpError(
    () => infer(op("Reshape"), [x, vt("i64", ["k"])]),
    /known length/,
  );
});

Deno.test("Transpose permutes, reversing by default", () => {
  const x = iota([2, 3]);
  assertTensor(
    evaluate(op("Transpose"), [x])[0],
    tensor("f32", [3, 2], [0, 3, 1, 4, 2, 5]),
  );
  const [y] = evaluate(op("Transpose"), [iota([2, 3, 4])], {
    perm: attr.ints([1, 2, 0]),
  });
  assert.deepEqual(y.shape, [3, 4, 2]);
  assert.equal(y.data[1], 12); // y[0,0,1] = x[1,0,0]
  assertOpError(
    () => evaluate(op("Transpose"), [x], { perm: attr.ints([0, 0]) }),
    /perm/,
  );
  assert.deepEqual(
    infer(op("Transpose"), [vt("f32", ["b", 3])])[0].shape,
    [3, "b"],
  );
});

Deno.test("Unsqueeze and Squeeze move size-1 dims", () => {
  const x = iota([3, 4]);
  assert.deepEqual(evaluate(op("Unsqueeze"), [x, i64([0, -1])])[0].shape, [
    1,
    3,
    4,
    1,
  ]);
  assert.deepEqual(evaluate(op("Unsqueeze"), [x, i64([3, 1])])[0].shape, [
    3,
    1,
    4,
    1,
  ]);
  assertOpError(() => evaluate(op("Unsqueeze"), [x, i64([1, 1])]), /duplicate/);
  const y = iota([1, 3, 1]);
  assert.deepEqual(evaluate(op("Squeeze"), [y])[0].shape, [3]);
  assert.deepEqual(evaluate(op("Squeeze"), [y, i64([-1])])[0].shape, [1, 3]);
  assertOpError(() => evaluate(op("Squeeze"), [y, i64([1])]), /cannot squeeze/);
  const s = vt("f32", ["b", 1, "s"]);
  assert.deepEqual(infer(op("Squeeze"), [s])[0].shape, ["b", "s"]);
  assert.deepEqual(infer(op("Squeeze"), [s, vt("i64", [1])])[0].shape, [
    "n:d0",
    "n:d1",
  ]);
  assertOpError(() => infer(op("Squeeze"), [s, vt("i64", [4])]), /more axes/);
  assert.deepEqual(
    infer(op("Unsqueeze"), [s, vt("i64", [1])], [undefined, i64([1])])[0].shape,
    ["b", 1, 1, "s"],
  );
});

Deno.test("Concat joins along an axis and checks the others", () => {
  const [y] = evaluate(op("Concat"), [
    iota([2, 1]),
    tensor("f32", [2, 2], [7, 8, 9, 10]),
  ], {
    axis: attr.int(-1),
  });
  assertTensor(y, tensor("f32", [2, 3], [0, 7, 8, 1, 9, 10]));
  assertOpError(
    () =>
      evaluate(op("Concat"), [iota([2, 1]), iota([3, 1])], {
        axis: attr.int(1),
      }),
    /differ on dim 0/,
  );
  assertOpError(
    () => evaluate(op("Concat"), [iota([2])]),
    /'axis' is required/,
  );
  const types = infer(
    op("Concat"),
    [vt("f32", ["b", 1]), vt("f32", ["b", "s"])],
    [],
    {
      axis: attr.int(1),
    },
  );
  assert.deepEqual(types[0].shape, ["b", "n:d1"]);
  const sym = infer(op("Concat"), [vt("i64", [0]), vt("i64", ["k"])], [], {
    axis: attr.int(0),
  });
  assert.deepEqual(sym[0].shape, ["k"]);
});

Deno.test("Flatten, Shape and Size", () => {
  assert.deepEqual(evaluate(op("Flatten"), [iota([2, 3, 4])])[0].shape, [
    2,
    12,
  ]);
  assert.deepEqual(
    evaluate(op("Flatten"), [iota([2, 3, 4])], { axis: attr.int(0) })[0].shape,
    [1, 24],
  );
  assert.deepEqual(
    infer(op("Flatten"), [vt("f32", ["b", "s", 4])], [], {
      axis: attr.int(2),
    })[0].shape,
    ["n:d0", 4],
  );
  const x = iota([2, 3, 4]);
  assertTensor(evaluate(op("Shape"), [x])[0], i64([2, 3, 4]));
  assertTensor(
    evaluate(op("Shape"), [x], { start: attr.int(-2), end: attr.int(100) })[0],
    i64([3, 4]),
  );
  assertTensor(
    evaluate(op("Shape"), [x], { start: attr.int(2), end: attr.int(1) })[0],
    i64([]),
  );
  assertTensor(evaluate(op("Size"), [x])[0], tensor("i64", [], [24]));
  assert.deepEqual(
    infer(op("Shape"), [vt("f32", ["b", 3])])[0],
    vt("i64", [2]),
  );
});

Deno.test("Expand broadcasts both ways", () => {
  const [y] = evaluate(op("Expand"), [
    tensor("f32", [3, 1], [1, 2, 3]),
    i64([2, 1, 2]),
  ]);
  assertTensor(
    y,
    tensor("f32", [2, 3, 2], [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]),
  );
  assertOpError(
    () => evaluate(op("Expand"), [iota([3]), i64([2])]),
    /cannot expand/,
  );
  const types = infer(op("Expand"), [vt("f32", [1, "s", 4]), vt("i64", [4])]);
  assert.deepEqual(types[0].shape, ["n:d0", "n:d1", "s", 4]);
});

registerNodeTests(
  [
    "Reshape",
    "Transpose",
    "Unsqueeze",
    "Squeeze",
    "Concat",
    "Flatten",
    "Shape",
    "Size",
    "Expand",
  ],
  { untested: ["Size"] },
);
