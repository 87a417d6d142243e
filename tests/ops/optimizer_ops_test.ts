import assert from "node:assert/strict";
import { attr, type Attrs, makeNode } from "../../src/ir/graph.ts";
import { scalar, type Tensor, tensor, toNumbers } from "../../src/ir/tensor.ts";
import { getOp } from "../../src/ops/mod.ts";
import { linearWarmupDecay } from "../../src/ops/optimizer_ops.ts";

/** Evaluates registered op `op` on `inputs`, with `outputs` outputs. */
function run(
  op: string,
  inputs: readonly Tensor[],
  attrs: Attrs,
  outputs: number,
): Tensor[] {
  const node = makeNode(
    op,
    "n",
    inputs.map((_, i) => `in${i}`),
    Array.from({ length: outputs }, (_, i) => `out${i}`),
    attrs,
  );
  return getOp(op).evaluate(inputs, node);
}

const f32 = (values: number[]) => tensor("f32", [values.length], values);
const step = (s: number) => scalar("i64", s);

/** AdamW with HF's betas, lr 0.1 and the given decay: two steps from w = 1. */
function twoSteps(weightDecay: number, g1: number, g2: number): Tensor[][] {
  const attrs = {
    beta1: attr.float(0.9),
    beta2: attr.float(0.999),
    epsilon: attr.float(1e-8),
    weight_decay: attr.float(weightDecay),
  };
  const lr = scalar("f32", 0.1);
  const zero = f32([0]);
  const first = run(
    "AdamW",
    [f32([1]), f32([g1]), zero, zero, lr, step(0)],
    attrs,
    3,
  );
  const second = run(
    "AdamW",
    [first[0], f32([g2]), first[1], first[2], lr, step(1)],
    attrs,
    3,
  );
  return [first, second];
}

function close(actual: number, expected: number, what: string, rtol = 1e-6) {
  assert.ok(
    Math.abs(actual - expected) <= rtol * Math.abs(expected),
    `${what}: got ${actual}, want ${expected}`,
  );
}

Deno.test("AdamW: two steps by hand, with bias correction and decoupled decay", () => {
  const [[w1, m1, v1], [w2, m2, v2]] = twoSteps(0.01, 0.5, -0.25);
  // t = 1: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 0.00025. Bias correction
  // makes m̂ = 0.05/0.1 = 0.5 and v̂ = 0.00025/0.001 = 0.25, so the first step
  // is lr·(0.5/(0.5 + 1e-8)) ≈ lr whatever the gradient's scale (without
  // correction it would be lr·0.05/√0.00025 ≈ 3.16·lr). The decay term is
  // lr·wd·w = 0.1·0.01·1: w = 1 − 0.1·(0.99999998 + 0.01) = 0.899000002.
  close(m1.data[0], 0.05, "m after step 1");
  close(v1.data[0], 0.00025, "v after step 1");
  close(w1.data[0], 0.899000002, "w after step 1");
  // t = 2, g = −0.25: m = 0.9·0.05 − 0.1·0.25 = 0.02;
  // v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225; m̂ = 0.02/(1 − 0.9²) =
  // 0.105263158; v̂ = 0.00031225/(1 − 0.999²) = 0.156203102;
  // w = 0.899000002 − 0.1·(0.105263158/(√0.156203102 + 1e-8) + 0.01·0.899000002)
  //   = 0.871467299.
  close(m2.data[0], 0.02, "m after step 2");
  close(v2.data[0], 0.00031225, "v after step 2");
  close(w2.data[0], 0.8714672987, "w after step 2");
});

Deno.test("AdamW: without decay (biases, LayerNorm) only the Adam step moves w", () => {
  const [[w1], [w2]] = twoSteps(0, 0.5, -0.25);
  close(w1.data[0], 0.900000002, "w after step 1");
  close(w2.data[0], 0.8733662987, "w after step 2");
  // The decay never enters the moments: they match the decayed run's.
  const [[, m1d, v1d], [, m2d, v2d]] = twoSteps(0.01, 0.5, -0.25);
  const [[, m1, v1], [, m2, v2]] = twoSteps(0, 0.5, -0.25);
  assert.deepEqual([m1, v1, m2, v2], [m1d, v1d, m2d, v2d]);
});

/**
 * torch.optim.AdamW's single-tensor step (torch/optim/adamw.py, `_single_tensor_adamw`)
 * written out op by op, each op rounding to f32 as torch's f32 kernels do:
 *
 *   param.mul_(1 - lr * weight_decay)
 *   exp_avg.lerp_(grad, 1 - beta1)
 *   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
 *   bias_correction1 = 1 - beta1 ** step
 *   bias_correction2 = 1 - beta2 ** step
 *   step_size = lr / bias_correction1
 *   denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
 *   param.addcdiv_(exp_avg, denom, value=-step_size)
 */
function torchAdamW(
  p: number[],
  grad: number[],
  m: number[],
  v: number[],
  t: number,
  lr: number,
  wd: number,
): void {
  const f = Math.fround;
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  for (let i = 0; i < p.length; i++) {
    p[i] = f(p[i] * (1 - lr * wd));
    m[i] = f(m[i] + (1 - beta1) * (grad[i] - m[i]));
    v[i] = f(f(v[i] * beta2) + (1 - beta2) * grad[i] * grad[i]);
    const stepSize = lr / (1 - beta1 ** t);
    const denom = f(f(f(Math.sqrt(v[i])) / Math.sqrt(1 - beta2 ** t)) + eps);
    p[i] = f(p[i] - stepSize * f(m[i] / denom));
  }
}

Deno.test("AdamW: agrees with torch.optim.AdamW's formula over 20 steps", () => {
  const n = 7;
  const lr = 3e-3;
  const wd = 0.05;
  let seed = 1;
  const rand = () =>
    ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const torch = {
    p: Array.from({ length: n }, rand),
    m: new Array<number>(n).fill(0),
    v: new Array<number>(n).fill(0),
  };
  let [w, m, v] = [f32(torch.p), f32(torch.m), f32(torch.v)];
  const attrs = { weight_decay: attr.float(wd) };
  for (let s = 0; s < 20; s++) {
    const grad = Array.from({ length: n }, () => rand() * 10 ** (s % 4 - 2));
    torchAdamW(torch.p, grad, torch.m, torch.v, s + 1, lr, wd);
    [w, m, v] = run(
      "AdamW",
      [w, f32(grad), m, v, scalar("f32", lr), step(s)],
      attrs,
      3,
    );
  }
  // Rounding differs per op (torch rounds each op, the reference once), so
  // agreement is to a few f32 ulps, not bits.
  toNumbers(w).forEach((x, i) => close(x, torch.p[i], `w[${i}]`, 2e-6));
  toNumbers(m).forEach((x, i) => close(x, torch.m[i], `m[${i}]`, 2e-6));
  toNumbers(v).forEach((x, i) => close(x, torch.v[i], `v[${i}]`, 2e-6));
});

Deno.test("AdamW: type rule refuses mismatched state and a non-i64 step", () => {
  const def = getOp("AdamW");
  const node = makeNode("AdamW", "n", ["w", "g", "m", "v", "lr", "s"], [
    "a",
    "b",
    "c",
  ]);
  const t = (dtype: "f32" | "i64" | "i32", shape: number[]) => ({
    dtype,
    shape,
  });
  const ok = [
    t("f32", [2, 3]),
    t("f32", [2, 3]),
    t("f32", [2, 3]),
    t("f32", [2, 3]),
    t("f32", []),
    t("i64", []),
  ];
  assert.deepEqual(def.infer({ node, inputs: ok, values: [] }), [
    ok[0],
    ok[0],
    ok[0],
  ]);
  const badV = ok.with(3, t("f32", [3, 2]));
  assert.throws(
    () => def.infer({ node, inputs: badV, values: [] }),
    /input 3 has shape \[3,2\]/,
  );
  const badStep = ok.with(5, t("i32", []));
  assert.throws(
    () => def.infer({ node, inputs: badStep, values: [] }),
    /step\) must be a scalar i64/,
  );
  const badLr = ok.with(4, t("f32", [1]));
  assert.throws(
    () => def.infer({ node, inputs: badLr, values: [] }),
    /input 4 must be a scalar f32/,
  );
});

Deno.test("GlobalNormClip: one norm over all gradients, scale min(1, max/norm)", () => {
  // ‖(3, 4, 12)‖ = 13 across two tensors; max_norm 6.5 halves every element
  // (torch adds 1e-6 to the norm: scale = 6.5/13.000001).
  const a = tensor("f32", [2], [3, 4]);
  const b = tensor("f32", [1, 1], [12]);
  const [ca, cb, norm] = run("GlobalNormClip", [a, b], {
    max_norm: attr.float(6.5),
  }, 3);
  assert.equal(norm.data[0], 13);
  assert.deepEqual(norm.shape, []);
  const scale = Math.fround(6.5 / (13 + 1e-6));
  assert.deepEqual(toNumbers(ca), [3, 4].map((x) => Math.fround(x * scale)));
  assert.deepEqual(toNumbers(cb), [Math.fround(12 * scale)]);
  assert.deepEqual(cb.shape, [1, 1]);
  close(toNumbers(ca)[1], 2, "clipped element", 1e-6);
  // The clipped gradients' global norm is max_norm.
  const clippedNorm = Math.hypot(...toNumbers(ca), ...toNumbers(cb));
  close(clippedNorm, 6.5, "norm after clipping");
});

Deno.test("GlobalNormClip: below the limit the gradients pass unchanged", () => {
  const a = tensor("f32", [3], [0.1, -0.2, 0.3]);
  const [ca, norm] = run("GlobalNormClip", [a], { max_norm: attr.float(1) }, 2);
  assert.deepEqual(toNumbers(ca), toNumbers(a));
  close(norm.data[0], Math.hypot(0.1, 0.2, 0.3), "norm");
  // All-zero gradients: norm 0, no division by zero.
  const [cz, zero] = run("GlobalNormClip", [f32([0, 0])], {}, 2);
  assert.deepEqual([...toNumbers(cz), zero.data[0]], [0, 0, 0]);
});

Deno.test("GlobalNormClip: needs one output per gradient plus the norm", () => {
  const node = makeNode("GlobalNormClip", "n", ["a", "b"], ["x", "y"]);
  const t = { dtype: "f32" as const, shape: [2] };
  assert.throws(
    () => getOp("GlobalNormClip").infer({ node, inputs: [t, t], values: [] }),
    /3 outputs, got 2/,
  );
});

Deno.test("LinearWarmupDecay: HF get_linear_schedule_with_warmup values", () => {
  const attrs = {
    lr: attr.float(2e-5),
    warmup_steps: attr.int(10),
    total_steps: attr.int(110),
  };
  const lrAt = (s: number) =>
    run("LinearWarmupDecay", [step(s)], attrs, 1)[0].data[0];
  // Step 0 (the first update) gets 0, as HF's LambdaLR gives before its first scheduler.step().
  assert.equal(lrAt(0), 0);
  assert.equal(lrAt(5), Math.fround(1e-5)); // mid warm-up: 5/10 of the peak
  assert.equal(lrAt(10), Math.fround(2e-5)); // end of warm-up: the peak
  assert.equal(lrAt(60), Math.fround(1e-5)); // mid decay: (110−60)/100
  assert.equal(lrAt(110), 0); // end
  assert.equal(lrAt(200), 0); // past the end: clamped at 0
  // No warm-up: the first step gets the full rate, HF's max(1, ·) guards.
  assert.equal(linearWarmupDecay(0, 0, 100), 1);
  assert.equal(linearWarmupDecay(5, 5, 5), 0);
  assert.throws(
    () => run("LinearWarmupDecay", [scalar("i64", -1)], attrs, 1),
    /non-negative integer/,
  );
  assert.throws(
    () => run("LinearWarmupDecay", [step(0)], { total_steps: attr.int(1) }, 1),
    /attribute lr is required/,
  );
});
