import assert from "node:assert/strict";
import {
  BfpKernel,
  prngKeys,
  prngUniform,
  referenceQuantise,
} from "../../../src/codegen/bfp/mod.ts";

const SR8 = { bits: 8, rounding: "sr", granularity: "tensor" } as const;
const DRAWS = 100_000;

/**
 * x[0] = 1 fixes e = 1, Δ = 2^-6; the other DRAWS elements all equal v with
 * v/Δ = y = 10.3 (as f32), between grid points 10 and 11.
 */
function repeatedValue(): { x: Float32Array; y: number } {
  const x = new Float32Array(DRAWS + 1).fill(Math.fround(10.3 / 64));
  x[0] = 1;
  return { x, y: x[1] * 64 };
}

Deno.test("stochastic rounding is unbiased: mean of 1e5 draws within 5σ of y", async () => {
  const { x, y } = repeatedValue();
  const p = y - 10; // P(round up)
  // Each draw is 10 + Bernoulli(p): the mean has σ = sqrt(p(1-p)/n) ≈ 0.00145 here.
  const bound = 5 * Math.sqrt(p * (1 - p) / DRAWS);
  const k = await BfpKernel.create(SR8);
  for (const seed of [1, 2, 3]) {
    const t = k.quantise(x, 1, x.length, { seed });
    let sum = 0;
    for (let i = 1; i < t.q.length; i++) {
      assert.ok(t.q[i] === 10 || t.q[i] === 11);
      sum += t.q[i];
    }
    const mean = sum / DRAWS;
    assert.ok(
      Math.abs(mean - y) < bound,
      `seed ${seed}: mean ${mean}, y ${y}, bound ${bound}`,
    );
  }
  // Nearest rounding on the same data is biased by 0.3 of a step: the test has teeth.
  const rne = referenceQuantise(x, 1, x.length, { ...SR8, rounding: "rne" });
  assert.equal(rne.q[1], 10);
});

Deno.test("stochastic rounding is reproducible: same seed same bits, other seed other bits", async () => {
  const { x } = repeatedValue();
  const k = await BfpKernel.create(SR8);
  const a = k.quantise(x, 1, x.length, { seed: 42 });
  const b = k.quantise(x, 1, x.length, { seed: 42 });
  const c = k.quantise(x, 1, x.length, { seed: 43 });
  assert.deepEqual(a.q, b.q);
  assert.deepEqual(a.q, referenceQuantise(x, 1, x.length, SR8, { seed: 42 }).q);
  let differ = 0;
  for (let i = 0; i < a.q.length; i++) differ += a.q[i] !== c.q[i] ? 1 : 0;
  // Independent streams disagree with probability 2p(1-p) = 0.42 per element.
  assert.ok(differ > 0.4 * DRAWS && differ < 0.44 * DRAWS, `${differ} differ`);
});

Deno.test("exact grid values never move under stochastic rounding", () => {
  const x = Float32Array.from(
    { length: 1000 },
    (_, i) => ((i % 255) - 127) / 64,
  );
  x[0] = 1.984375; // 127/64: e = 1, Δ = 2^-6, every value is on the grid
  const t = referenceQuantise(x, 1, x.length, SR8, { seed: 9 });
  for (let i = 1; i < x.length; i++) assert.equal(t.q[i], x[i] * 64);
});

Deno.test("the PRNG gives 24-bit uniforms with the moments of U[0,1)", () => {
  const keys = prngKeys(2024);
  let sum = 0, sumSq = 0, lowBits = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const u = prngUniform(keys, i);
    assert.ok(u >= 0 && u < 1);
    sum += u;
    sumSq += u * u;
    lowBits |= (u * 2 ** 24) & 0xff;
  }
  // Mean 1/2 (σ = 1/sqrt(12n)), variance 1/12; all low bits are used.
  assert.ok(Math.abs(sum / n - 0.5) < 5 / Math.sqrt(12 * n));
  assert.ok(Math.abs(sumSq / n - (sum / n) ** 2 - 1 / 12) < 0.002);
  assert.equal(lowBits, 0xff);
  assert.notDeepEqual(prngKeys(1), prngKeys(2));
});
