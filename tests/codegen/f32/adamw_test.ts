import assert from "node:assert/strict";
import {
  type AdamWHyper,
  adamwRef,
  type AdamWState,
  generateAdamW,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { arena, maxAbsErr, seeded, uniform } from "./helpers.ts";

const HYPER: AdamWHyper = {
  lr: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  wd: 0.01,
};

/** Runs `grads.length` AdamW steps in WASM from `state`, steps numbered from `first`. */
async function runWasm(
  state: { w: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> },
  grads: ArrayLike<number>[],
  hyper: AdamWHyper,
  decay: boolean,
  first = 1,
) {
  const a = arena();
  const adamw = await generateAdamW().instantiate(a.memory);
  const n = state.w.length;
  const [w, m, v] = [state.w, state.m, state.v].map((x) => a.f32(x));
  grads.forEach((g, i) => {
    const { lr, beta1, beta2, eps, wd } = hyper;
    adamw(
      w,
      a.f32(g),
      m,
      v,
      n,
      lr,
      beta1,
      beta2,
      eps,
      wd,
      first + i,
      decay ? 1 : 0,
    );
  });
  return { w: a.readF32(w, n), m: a.readF32(m, n), v: a.readF32(v, n) };
}

Deno.test("adamw: two hand-computed steps, with and without weight decay", async () => {
  // w = 1, g₁ = 0.5, g₂ = −0.25, lr 0.1, β 0.9/0.999, ε 1e-8, wd 0.01.
  // Step 1: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 2.5e-4; m̂ = 0.05/0.1 = 0.5,
  //   v̂ = 2.5e-4/0.001 = 0.25, update = 0.1·0.5/(0.5 + 1e-8) = 0.099999998;
  //   decay: w = 1·(1 − 0.1·0.01) − update = 0.999 − 0.099999998.
  // Step 2: m = 0.045 − 0.025 = 0.02, v = 2.4975e-4 + 6.25e-5 = 3.1225e-4;
  //   m̂ = 0.02/(1 − 0.81), v̂ = 3.1225e-4/(1 − 0.998001),
  //   update = 0.1·m̂/(√v̂ + 1e-8) = 0.0266337...
  // (values below to 15 digits, from the same arithmetic in 30-digit mpmath).
  const cases = [
    { decay: true, w1: 0.89900000199999996, w2: 0.871467298705846 },
    { decay: false, w1: 0.90000000199999996, w2: 0.873366298707846 },
  ];
  for (const { decay, w1, w2 } of cases) {
    const s0 = { w: [1], m: [0], v: [0] };
    const one = await runWasm(s0, [[0.5]], HYPER, decay);
    const two = await runWasm(s0, [[0.5], [-0.25]], HYPER, decay);
    // f32 state: a few ulp of w ≈ 0.9 (ulp 6e-8), and the f32 rounding of
    // β (relative 1e-8 in 1 − β) moves the update by ~1e-9.
    assert.ok(Math.abs(one.w[0] - w1) < 2e-7, `step 1 decay=${decay}`);
    assert.ok(Math.abs(two.w[0] - w2) < 2e-7, `step 2 decay=${decay}`);
    assert.ok(
      Math.abs(two.m[0] - 0.02) < 1e-8 &&
        Math.abs(two.v[0] - 3.1225e-4) < 1e-10,
    );
    const ref = [[0.5], [-0.25]].reduce(
      (s: AdamWState, g, i) => adamwRef(s, g, HYPER, i + 1, decay),
      { w: Float64Array.of(1), m: Float64Array.of(0), v: Float64Array.of(0) },
    );
    assert.ok(Math.abs(ref.w[0] - w2) < 1e-15, `reference decay=${decay}`);
  }
});

Deno.test("adamw matches the double reference over the size sweep, including late steps", async () => {
  // Each element: w − lr·m̂/(√v̂ + ε), an O(lr) update on O(1) weights; f32
  // state gives ~4 ulp of w plus ~1e-6 relative of the update.
  const hyper = { ...HYPER, lr: 2e-3 };
  for (const n of SWEEP_SIZES) {
    const rand = seeded(n);
    const w = uniform(n, rand);
    const m = uniform(n, rand, -0.01, 0.01);
    const v = uniform(n, rand, 0, 1e-4);
    const grads = [uniform(n, rand, -0.1, 0.1), uniform(n, rand, -0.1, 0.1)];
    for (
      const [decay, first] of [[true, 1], [false, 1], [true, 5000]] as const
    ) {
      const got = await runWasm({ w, m, v }, grads, hyper, decay, first);
      let ref: AdamWState = {
        w: Float64Array.from(w),
        m: Float64Array.from(m),
        v: Float64Array.from(v),
      };
      grads.forEach((g, i) => ref = adamwRef(ref, g, hyper, first + i, decay));
      const label = `n=${n} decay=${decay} step=${first}`;
      assert.ok(
        maxAbsErr(got.w, ref.w) < 4 * 2 ** -24 + 1e-6 * hyper.lr,
        `w ${label}`,
      );
      // m = O(0.02) and v = O(1e-4): a few f32 roundings each.
      assert.ok(maxAbsErr(got.m, ref.m) < 4 * 2 ** -24 * 0.02, `m ${label}`);
      assert.ok(maxAbsErr(got.v, ref.v) < 4 * 2 ** -24 * 1e-4, `v ${label}`);
    }
  }
});

Deno.test("adamw traps on step < 1 (bias correction would divide by zero)", async () => {
  const a = arena();
  const adamw = await generateAdamW().instantiate(a.memory);
  const p = a.f32([1]);
  assert.throws(
    () => adamw(p, p, p, p, 1, 0.1, 0.9, 0.999, 1e-8, 0, 0, 1),
    WebAssembly.RuntimeError,
  );
});
