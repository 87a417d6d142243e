import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { normalizationOps } from "../../src/ops/normalization.ts";
import {
  assertOpError,
  assertTensor,
  defIn,
  evaluate,
  infer,
  vt,
} from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const layerNorm = defIn(normalizationOps, "LayerNorm");
const softmax = defIn(normalizationOps, "Softmax");
const logSoftmax = defIn(normalizationOps, "LogSoftmax");
const f32 = (shape: number[], values: number[]) => tensor("f32", shape, values);

Deno.test("LayerNorm normalises the last axis, then scales and shifts", () => {
  // Rows [1, 3] and [0, 4] both have mean 2; variances 1 and 4.
  const x = f32([2, 2], [1, 3, 0, 4]);
  const scale = f32([2], [2, 3]);
  const bias = f32([2], [0.5, -0.5]);
  const [y, mean, inv] = evaluate(layerNorm, [x, scale, bias], {
    epsilon: attr.float(0),
  }, 3);
  assertTensor(y, f32([2, 2], [-1.5, 2.5, -1.5, 2.5]));
  assertTensor(mean, f32([2, 1], [2, 2]));
  assertTensor(inv, f32([2, 1], [1, 0.5]));
  const [noBias] = evaluate(layerNorm, [x, scale]);
  const k = 1 / Math.sqrt(1 + 1e-5); // default epsilon
  assert.ok(Math.abs(noBias.data[0] + 2 * k) < 1e-6);
  assertOpError(
    () => evaluate(layerNorm, [x, f32([3], [1, 2, 3])]),
    /Scale \[3\]/,
  );
});

Deno.test("LayerNorm over several trailing axes", () => {
  // All four elements: mean 2, variance 2.5.
  const x = f32([1, 2, 2], [1, 3, 0, 4]);
  const [y, mean, inv] = evaluate(layerNorm, [x, f32([], [1])], {
    axis: attr.int(1),
    epsilon: attr.float(0),
  }, 3);
  const s = 1 / Math.sqrt(2.5);
  assertTensor(y, f32([1, 2, 2], [-s, s, -2 * s, 2 * s]));
  assertTensor(mean, f32([1, 1, 1], [2]));
  assertTensor(inv, f32([1, 1, 1], [s]));
});

Deno.test("LayerNorm infers outputs with symbolic dims", () => {
  const x = vt("f32", ["b", "s", 768]);
  const types = infer(
    layerNorm,
    [x, vt("f32", [768]), vt("f32", [768])],
    [],
    {},
    3,
  );
  assert.deepEqual(types, [
    x,
    vt("f32", ["b", "s", 1]),
    vt("f32", ["b", "s", 1]),
  ]);
  assert.equal(infer(layerNorm, [x, vt("f32", [768])]).length, 1);
  assertOpError(
    () => infer(layerNorm, [x, vt("f32", [512])]),
    /does not broadcast/,
  );
  assertOpError(
    () => infer(layerNorm, [vt("i32", [2]), vt("i32", [2])]),
    /float/,
  );
  assertOpError(
    () =>
      infer(layerNorm, [x, vt("f32", [768])], [], { stash_type: attr.int(10) }),
    /stash_type/,
  );
});

Deno.test("Softmax and LogSoftmax over one axis, stable for large inputs", () => {
  // f64, so the large row's input is not rounded away.
  const x = tensor("f64", [2, 2], [0, Math.log(3), 1000, 1000 + Math.log(3)]);
  const probs = [0.25, 0.75, 0.25, 0.75];
  assertTensor(evaluate(softmax, [x])[0], tensor("f64", [2, 2], probs));
  assertTensor(
    evaluate(logSoftmax, [x])[0],
    tensor("f64", [2, 2], probs.map(Math.log)),
  );
  const cols = f32([2, 2], [0, 0, Math.log(3), 0]);
  assertTensor(
    evaluate(softmax, [cols], { axis: attr.int(0) })[0],
    f32([2, 2], [0.25, 0.5, 0.75, 0.5]),
  );
  assertOpError(
    () => evaluate(softmax, [cols], { axis: attr.int(2) }),
    /out of range/,
  );
  assert.deepEqual(
    infer(softmax, [vt("f16", ["b", 12])])[0],
    vt("f16", ["b", 12]),
  );
});

registerNodeTests(
  ["LayerNormalization", "Softmax", "LogSoftmax"],
  { untested: ["LogSoftmax"] },
);
