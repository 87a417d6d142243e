import assert from "node:assert/strict";
import {
  crossEntropyBwdRef,
  crossEntropyRef,
  generateCrossEntropyBwd,
  generateCrossEntropyFwd,
  generateMseBwd,
  generateMseFwd,
  mseBwdRef,
  mseRef,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { arena, maxAbsErr, numericGrad, seeded, uniform } from "./helpers.ts";

async function crossEntropy(
  logits: Float32Array,
  labels: number[],
  classes: number,
  dloss: number,
) {
  const a = arena();
  const fwd = await generateCrossEntropyFwd().instantiate(a.memory);
  const bwd = await generateCrossEntropyBwd().instantiate(a.memory);
  const x = a.f32(logits);
  const l = a.i32(labels);
  const d = a.alloc(4 * logits.length);
  const loss = fwd(x, l, labels.length, classes);
  bwd(x, l, d, labels.length, classes, dloss);
  return { loss, grad: a.readF32(d, logits.length) };
}

async function mse(pred: Float32Array, target: Float32Array, dloss: number) {
  const a = arena();
  const fwd = await generateMseFwd().instantiate(a.memory);
  const bwd = await generateMseBwd().instantiate(a.memory);
  const p = a.f32(pred);
  const t = a.f32(target);
  const d = a.alloc(4 * pred.length);
  const loss = fwd(p, t, pred.length);
  bwd(p, t, d, pred.length, dloss);
  return { loss, grad: a.readF32(d, pred.length) };
}

Deno.test("cross-entropy loss and gradient match the double reference over the class sweep", async () => {
  // The loss is a mean of lse − x_label (lse: exp ≤ 1 ulp, log ≤ 0.78 ulp,
  // a sum over ≤ 130 classes): 1e-6 relative to the logits' scale (8). The
  // gradient is softmax − onehot, O(1/B): 1e-7 absolute is ~8 ulp of 1/B.
  for (const classes of SWEEP_SIZES) {
    const rows = 5;
    const rand = seeded(classes);
    const logits = uniform(rows * classes, rand, -8, 8);
    const labels = Array.from(
      { length: rows },
      () => Math.floor(rand() * classes),
    );
    const got = await crossEntropy(logits, labels, classes, 0.7);
    const want = crossEntropyRef(logits, labels, rows, classes);
    assert.ok(Math.abs(got.loss - want) < 8e-6, `loss C=${classes}`);
    const grad = crossEntropyBwdRef(logits, labels, rows, classes, 0.7);
    assert.ok(maxAbsErr(got.grad, grad) < 1e-7, `grad C=${classes}`);
  }
});

Deno.test("cross-entropy stays finite for extreme logits and rejects bad labels", async () => {
  const logits = Float32Array.of(1e4, -1e4, 0, 80, -80, 0);
  const got = await crossEntropy(logits, [1, 2], 3, 1);
  const want = crossEntropyRef(logits, [1, 2], 2, 3);
  assert.ok(Math.abs(got.loss - want) / want < 1e-6);
  assert.ok(got.grad.every(Number.isFinite));
  const a = arena();
  const fwd = await generateCrossEntropyFwd().instantiate(a.memory);
  const x = a.f32(logits);
  assert.throws(() => fwd(x, a.i32([3, 0]), 2, 3), WebAssembly.RuntimeError);
  assert.throws(() => fwd(x, a.i32([0, -1]), 2, 3), WebAssembly.RuntimeError);
});

Deno.test("mse loss and gradient match the double reference over the size sweep", async () => {
  for (const n of SWEEP_SIZES) {
    const rand = seeded(n + 1000);
    const pred = uniform(n, rand, 0, 5);
    const target = uniform(n, rand, 0, 5);
    const got = await mse(pred, target, 1.5);
    const want = mseRef(pred, target);
    // Squares ≤ 25 summed over ≤ 130 terms in 4 lanes: 1e-6 relative.
    assert.ok(Math.abs(got.loss - want) <= 1e-6 * want, `loss n=${n}`);
    assert.ok(
      maxAbsErr(got.grad, mseBwdRef(pred, target, 1.5)) < 1e-6,
      `grad n=${n}`,
    );
  }
});

Deno.test("cross-entropy and mse gradients pass central differences", async () => {
  const rows = 3;
  const classes = 5;
  const rand = seeded(42);
  const logits32 = uniform(rows * classes, rand, -3, 3);
  const labels = [4, 0, 2];
  const logits = Float64Array.from(logits32);
  const ceNumeric = numericGrad(
    logits,
    () => 0.7 * crossEntropyRef(logits, labels, rows, classes),
  );
  assert.ok(
    maxAbsErr(
      crossEntropyBwdRef(logits, labels, rows, classes, 0.7),
      ceNumeric,
    ) < 1e-9,
  );
  assert.ok(
    maxAbsErr(
      (await crossEntropy(logits32, labels, classes, 0.7)).grad,
      ceNumeric,
    ) < 1e-7,
  );

  const pred32 = uniform(7, rand, 0, 5);
  const target = uniform(7, rand, 0, 5);
  const pred = Float64Array.from(pred32);
  const mseNumeric = numericGrad(pred, () => 1.5 * mseRef(pred, target));
  assert.ok(maxAbsErr(mseBwdRef(pred, target, 1.5), mseNumeric) < 1e-9);
  assert.ok(
    maxAbsErr((await mse(pred32, target, 1.5)).grad, mseNumeric) < 1e-6,
  );
});
