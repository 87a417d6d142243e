import assert from "node:assert/strict";
import { makeNode } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { getOp } from "../../src/ops/mod.ts";

/** Runs a one-output `op`, checking its type rule agrees with its result. */
function run(op: string, inputs: Tensor[]): Tensor {
  const node = makeNode(op, "n", inputs.map((_, i) => `x${i}`), ["y"]);
  const def = getOp(op);
  const [type] = def.infer({ node, inputs, values: inputs });
  const [result] = def.evaluate(inputs, node);
  assert.equal(result.dtype, type.dtype);
  assert.deepEqual(result.shape, type.shape);
  return result;
}

const f64 = (shape: number[], values: number[]) => tensor("f64", shape, values);
const i64 = (values: number[]) => tensor("i64", [values.length], values);
const one = f64([], [1]);
const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

Deno.test("SoftmaxCrossEntropy: ln C for equal logits, mean over the batch", () => {
  const uniform = run("SoftmaxCrossEntropy", [
    f64([2, 4], new Array(8).fill(3)),
    i64([0, 3]),
  ]);
  assert.ok(close(uniform.data[0], Math.log(4)));
  // Row 0 is confidently right (≈0), row 1 confidently wrong (≈ 20).
  const mixed = run("SoftmaxCrossEntropy", [
    f64([2, 2], [20, 0, 20, 0]),
    i64([0, 1]),
  ]);
  assert.ok(Math.abs(mixed.data[0] - 10) < 1e-6);
});

Deno.test("SoftmaxCrossEntropyGrad is (softmax − onehot)/B and sums to zero per row", () => {
  const g = run("SoftmaxCrossEntropyGrad", [
    one,
    f64([2, 2], [0, 0, 0, 0]),
    i64([0, 1]),
  ]);
  assert.deepEqual(Array.from(g.data), [-0.25, 0.25, 0.25, -0.25]);
});

Deno.test("SoftmaxCrossEntropy rejects labels outside [0, C) and bad shapes", () => {
  assert.throws(
    () => run("SoftmaxCrossEntropy", [f64([1, 3], [0, 0, 0]), i64([3])]),
    /label 3 is not in \[0, 3\)/,
  );
  assert.throws(
    () => run("SoftmaxCrossEntropy", [f64([3], [0, 0, 0]), i64([0])]),
    /logits must be \[B, C\]/,
  );
  assert.throws(
    () =>
      run("SoftmaxCrossEntropy", [f64([2, 3], new Array(6).fill(0)), i64([0])]),
    /labels must be i64\[2\]/,
  );
});

Deno.test("MeanSquaredError and its gradient over [B,1] against [B]", () => {
  const pred = f64([2, 1], [1, 3]);
  const target = f64([2], [0, 1]);
  assert.equal(run("MeanSquaredError", [pred, target]).data[0], 2.5);
  const g = run("MeanSquaredErrorGrad", [f64([], [2]), pred, target]);
  assert.deepEqual(g.shape, [2, 1]);
  assert.deepEqual(Array.from(g.data), [2, 4]);
  assert.throws(
    () => run("MeanSquaredError", [f64([2, 2], [0, 0, 0, 0]), target]),
    /\[B\] or \[B, 1\]/,
  );
});

Deno.test("SpanCrossEntropy averages start and end cross-entropy over positions", () => {
  // Starts score position 0 high, ends position 2: the right labels cost ≈0.
  const logits = f64([1, 3, 2], [30, 0, 0, 0, 0, 30]);
  assert.ok(
    run("SpanCrossEntropy", [logits, i64([0]), i64([2])]).data[0] < 1e-9,
  );
  const flat = f64([1, 3, 2], new Array(6).fill(0));
  assert.ok(
    close(
      run("SpanCrossEntropy", [flat, i64([1]), i64([1])]).data[0],
      Math.log(3),
    ),
  );
  const g = run("SpanCrossEntropyGrad", [one, flat, i64([1]), i64([2])]);
  const third = 1 / 6;
  const expected = [third, third, third - 0.5, third, third, third - 0.5];
  Array.from(g.data).forEach((v, k) => assert.ok(close(v, expected[k])));
  assert.throws(
    () => run("SpanCrossEntropy", [flat, i64([3]), i64([0])]),
    /label 3/,
  );
});
