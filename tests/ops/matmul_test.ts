import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { matmulOps } from "../../src/ops/matmul.ts";
import {
  assertOpError,
  assertTensor,
  defIn,
  evaluate,
  infer,
  vt,
} from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const matmul = defIn(matmulOps, "MatMul");
const gemm = defIn(matmulOps, "Gemm");
const f32 = (shape: number[], values: number[]) => tensor("f32", shape, values);
const a = f32([2, 3], [1, 2, 3, 4, 5, 6]);
const b = f32([3, 2], [7, 8, 9, 10, 11, 12]);

Deno.test("MatMul of matrices and vectors", () => {
  assertTensor(evaluate(matmul, [a, b])[0], f32([2, 2], [58, 64, 139, 154]));
  const v = f32([3], [1, 0, -1]);
  assertTensor(evaluate(matmul, [a, v])[0], f32([2], [-2, -2]));
  assertTensor(evaluate(matmul, [v, b])[0], f32([2], [-4, -4]));
  assertTensor(evaluate(matmul, [v, v])[0], f32([], [2]));
  assertOpError(() => evaluate(matmul, [a, a]), /inner dims differ: 3 vs 2/);
});

Deno.test("MatMul broadcasts batch dims", () => {
  // Batch [2,1] × [3]: each left matrix meets each right matrix.
  const left = f32([2, 1, 1, 2], [1, 2, 3, 4]);
  const right = f32([3, 2, 1], [1, 1, 0, 1, 2, 0]);
  const [y] = evaluate(matmul, [left, right]);
  assertTensor(y, f32([2, 3, 1, 1], [3, 2, 2, 7, 4, 6]));
  assertOpError(
    () =>
      evaluate(matmul, [
        f32([2, 1, 2], [1, 2, 3, 4]),
        f32([3, 2, 1], [1, 1, 0, 1, 2, 0]),
      ]),
    /do not broadcast/,
  );
});

Deno.test("MatMul accumulates in double before rounding", () => {
  // Summed in f32, 2^24 + 1 rounds back to 2^24; in double the ones survive.
  const x = f32([1, 3], [2 ** 24, 1, 1]);
  const ones = f32([3, 1], [1, 1, 1]);
  assertTensor(
    evaluate(matmul, [x, ones])[0],
    f32([1, 1], [2 ** 24 + 2]),
    "",
    0,
    0,
  );
});

Deno.test("MatMul infers symbolic shapes", () => {
  const types = infer(matmul, [
    vt("f32", ["b", 12, "s", 64]),
    vt("f32", ["b", 12, 64, "s"]),
  ]);
  assert.deepEqual(types[0], vt("f32", ["b", 12, "s", "s"]));
  const w = infer(matmul, [vt("f32", ["b", "s", 768]), vt("f32", [768, 3072])]);
  assert.deepEqual(w[0].shape, ["b", "s", 3072]);
  assertOpError(
    () => infer(matmul, [vt("f32", [2, 3]), vt("f16", [3, 2])]),
    /dtype/,
  );
  assertOpError(
    () => infer(matmul, [vt("f32", []), vt("f32", [3, 2])]),
    /rank/,
  );
});

Deno.test("Gemm with transposes, alpha, beta and a broadcast bias", () => {
  const c = f32([2], [1, -1]);
  const attrs = { alpha: attr.float(2), beta: attr.float(0.5) };
  assertTensor(
    evaluate(gemm, [a, b, c], attrs)[0],
    f32([2, 2], [116.5, 127.5, 278.5, 307.5]),
  );
  const at = f32([3, 2], [1, 4, 2, 5, 3, 6]);
  const bt = f32([2, 3], [7, 9, 11, 8, 10, 12]);
  const flags = { transA: attr.int(1), transB: attr.int(1) };
  assertTensor(
    evaluate(gemm, [at, bt], flags)[0],
    f32([2, 2], [58, 64, 139, 154]),
  );
  assertTensor(
    evaluate(gemm, [a, b, f32([2, 1], [10, 20])])[0],
    f32([2, 2], [68, 74, 159, 174]),
  );
  assertOpError(
    () => evaluate(gemm, [a, b, f32([3], [1, 2, 3])]),
    /does not broadcast/,
  );
  assertOpError(() => evaluate(gemm, [a, a]), /inner dims/);
  assert.deepEqual(
    infer(
      gemm,
      [vt("f32", ["b", 768]), vt("f32", [2, 768]), vt("f32", [2])],
      [],
      {
        transB: attr.int(1),
      },
    )[0],
    vt("f32", ["b", 2]),
  );
});

registerNodeTests(["MatMul", "Gemm"]);
