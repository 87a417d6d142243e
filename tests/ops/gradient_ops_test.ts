import assert from "node:assert/strict";
import { type Attrs, makeNode } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { dropoutHash } from "../../src/ops/dropout_train.ts";
import { getOp, OpError } from "../../src/ops/mod.ts";

/** Runs `op` on `inputs` through its reference kernel, checking its type rule agrees. */
function run(
  op: string,
  inputs: Tensor[],
  attrs: Attrs = {},
  outputs = 1,
): Tensor[] {
  const names = Array.from({ length: outputs }, (_, k) => `y${k}`);
  const node = makeNode(op, "n", inputs.map((_, i) => `x${i}`), names, attrs);
  const def = getOp(op);
  const types = def.infer({ node, inputs, values: inputs });
  const result = def.evaluate(inputs, node);
  result.forEach((t, k) => {
    assert.equal(t.dtype, types[k].dtype);
    assert.deepEqual(t.shape, types[k].shape);
  });
  return result;
}

const f32 = (shape: number[], values: number[]) => tensor("f32", shape, values);
const i64 = (shape: number[], values: number[]) => tensor("i64", shape, values);
const values = (t: Tensor) => Array.from(t.data);

Deno.test("GatherGrad adds repeated rows and places them by index", () => {
  const dy = f32([3, 2], [1, 2, 3, 4, 5, 6]);
  const [table] = run("GatherGrad", [dy, i64([3], [2, 0, 2])], {
    axis: { kind: "int", value: 0 },
    rows: { kind: "int", value: 4 },
  });
  assert.deepEqual(table.shape, [4, 2]);
  assert.deepEqual(values(table), [3, 4, 0, 0, 6, 8, 0, 0]);
});

Deno.test("GatherGrad rejects an index outside the table", () => {
  assert.throws(
    () =>
      run("GatherGrad", [f32([1, 2], [1, 2]), i64([1], [5])], {
        rows: { kind: "int", value: 4 },
      }),
    OpError,
  );
});

Deno.test("SliceGrad puts dy where the slice read, zero elsewhere", () => {
  const [dx] = run(
    "SliceGrad",
    [
      f32([2], [7, 9]),
      i64([1], [1]),
      i64([1], [5]),
      i64([1], [0]),
      i64([1], [2]),
    ],
    { shape: { kind: "ints", value: [5] } },
  );
  assert.deepEqual(values(dx), [0, 7, 0, 9, 0]);
});

Deno.test("SoftmaxGrad and TanhGrad follow their closed forms", () => {
  const y = f32([2], [0.25, 0.75]);
  const [dx] = run("SoftmaxGrad", [f32([2], [1, 0]), y]);
  // y·(dy − Σ dy·y) = [0.25·0.75, 0.75·(−0.25)]
  assert.deepEqual(values(dx), [0.1875, -0.1875]);
  const [dt] = run("TanhGrad", [f32([2], [2, 2]), f32([2], [0.5, -1])]);
  assert.deepEqual(values(dt), [1.5, 0]);
});

Deno.test("GeluGrad is Φ(x) + x·φ(x): ½ at 0, → 1 far right, → 0 far left", () => {
  const [g] = run("GeluGrad", [f32([3], [1, 1, 1]), f32([3], [0, 8, -8])]);
  const [half, right, left] = values(g);
  assert.equal(half, 0.5);
  assert.ok(Math.abs(right - 1) < 1e-6 && Math.abs(left) < 1e-6);
});

Deno.test("LayerNormGrad: dbias sums dy, dx sums to zero over the normalised axis", () => {
  const x = f32([2, 3], [1, 2, 4, -1, 0, 3]);
  const dy = f32([2, 3], [0.5, -1, 2, 1, 1, 1]);
  const scale = f32([3], [1, 2, 3]);
  const [dx, dscale, dbias] = run("LayerNormGrad", [dy, x, scale], {
    epsilon: { kind: "float", value: 1e-5 },
  }, 3);
  assert.deepEqual(values(dbias), [1.5, 0, 3]);
  assert.ok(Math.abs(dx.data[0] + dx.data[1] + dx.data[2]) < 1e-6);
  // A constant dy·scale is a shift of y, which normalisation undoes.
  const [still] = run(
    "LayerNormGrad",
    [f32([1, 3], [6, 3, 2]), f32([1, 3], [1, 2, 4]), scale],
    {},
    1,
  );
  assert.ok(values(still).every((v) => Math.abs(v) < 1e-6));
  assert.deepEqual(dscale.shape, [3]);
});

Deno.test("DropoutTrain masks reproducibly from the seed and scales the kept", () => {
  const x = f32([1000], Array.from({ length: 1000 }, (_, i) => i % 7 + 1));
  const attrs = { ratio: { kind: "float" as const, value: 0.25 } };
  const [y, mask] = run("DropoutTrain", [x, i64([], [1234])], attrs, 2);
  const [y2, mask2] = run("DropoutTrain", [x, i64([], [1234])], attrs, 2);
  const [, other] = run("DropoutTrain", [x, i64([], [1235])], attrs, 2);
  assert.deepEqual(values(mask), values(mask2));
  assert.deepEqual(values(y), values(y2));
  assert.notDeepEqual(values(mask), values(other));
  const kept = values(mask).filter((m) => m === 1).length;
  assert.ok(kept > 700 && kept < 800, `${kept} of 1000 kept`);
  values(y).forEach((v, k) =>
    assert.equal(v, mask.data[k] ? Math.fround(x.data[k] / 0.75) : 0)
  );
  assert.equal(mask.data[3], dropoutHash(1234, 3) >= 0.25 * 2 ** 32 ? 1 : 0);
});

Deno.test("dropoutHash uses both words of a 64-bit seed", () => {
  assert.notEqual(dropoutHash(5, 0), dropoutHash(5 + 2 ** 32, 0));
  assert.notEqual(dropoutHash(5, 0), dropoutHash(5, 1));
});

Deno.test("DropoutTrain's stream draws another mask from the same seed", () => {
  const x = f32([256], Array(256).fill(1));
  const attrs = (stream: number) => ({
    ratio: { kind: "float" as const, value: 0.5 },
    stream: { kind: "int" as const, value: stream },
  });
  const seed = i64([], [9]);
  const [, plain] = run("DropoutTrain", [x, seed], attrs(0), 2);
  const [, a] = run("DropoutTrain", [x, seed], attrs(0xdeadbeef), 2);
  const [, b] = run("DropoutTrain", [x, seed], attrs(17), 2);
  assert.notDeepEqual(values(a), values(b));
  assert.notDeepEqual(values(a), values(plain));
  assert.equal(a.data[5], dropoutHash(9, 5, 0xdeadbeef) >= 2 ** 31 ? 1 : 0);
  // Stream 0 is the plain seed.
  assert.equal(dropoutHash(9, 5, 0), dropoutHash(9, 5));
});

Deno.test("DropoutGrad scales dy by the mask over 1 − ratio", () => {
  const [dx] = run(
    "DropoutGrad",
    [f32([3], [1, 2, 3]), tensor("bool", [3], [1, 0, 1])],
    { ratio: { kind: "float", value: 0.5 } },
  );
  assert.deepEqual(values(dx), [2, 0, 6]);
  assert.throws(
    () =>
      run("DropoutGrad", [f32([1], [1]), tensor("bool", [1], [1])], {
        ratio: { kind: "float", value: 1 },
      }),
    /ratio 1 is not in \[0, 1\)/,
  );
});
