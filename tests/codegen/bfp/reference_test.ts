import assert from "node:assert/strict";
import {
  BfpError,
  frexpExponent,
  gemmEpilogueScale,
  pow2Factors,
  referenceDequantise,
  referenceMaxAbs,
  referenceQuantise,
  roundHalfEven,
  scaleAccumulators,
} from "../../../src/codegen/bfp/mod.ts";

const f32 = (xs: number[]) => Float32Array.from(xs);
/** The largest f32 below the positive f32 `p`. */
function below(p: number): number {
  const bits = new Uint32Array(Float32Array.of(p).buffer);
  bits[0]--;
  return new Float32Array(bits.buffer)[0];
}

Deno.test("frexpExponent is exact at powers of two and just below them", () => {
  for (let k = -149; k <= 127; k++) {
    assert.equal(frexpExponent(2 ** k), k + 1, `2^${k}`);
    if (k > -149) {
      const x = below(2 ** k);
      assert.ok(x < 2 ** k);
      assert.equal(frexpExponent(x), k, `just below 2^${k}`);
    }
  }
  assert.equal(frexpExponent(0), 0);
  assert.equal(frexpExponent(3.4028234663852886e38), 128);
  assert.equal(frexpExponent(0.75), 0);
  assert.equal(frexpExponent(5), 3);
  for (const bad of [NaN, Infinity, -1]) {
    assert.throws(() => frexpExponent(bad), BfpError);
  }
});

Deno.test("round half to even on hand-picked values", () => {
  const cases: [number, number][] = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [2.4999998, 2],
    [2.5000002, 3],
    [-3.5, -4],
    [7, 7],
  ];
  for (const [y, want] of cases) {
    assert.equal(roundHalfEven(y) + 0, want, `${y}`);
  }
});

Deno.test("BFP8 nearest matches the NUMERICS.md definition on hand-computed cases", () => {
  const rne8 = { bits: 8, rounding: "rne", granularity: "tensor" } as const;
  // m = 1 → e = 1, Δ = 2^-6: y = 64·x; ties go to even.
  const x = f32([
    1,
    -1,
    0.5 / 64,
    1.5 / 64,
    2.5 / 64,
    -2.5 / 64,
    3.5 / 64,
    -0.5 / 64,
  ]);
  const t = referenceQuantise(x, 1, x.length, rne8);
  assert.deepEqual([...t.exponents], [1]);
  assert.deepEqual([...t.q], [64, -64, 0, 2, 2, -2, 4, 0]);
  // m just below 1 → e = 0, Δ = 2^-7; 128·m rounds to 128 and clamps to 127.
  const m = below(1);
  const neg = referenceQuantise(f32([-m, 0.25, m / 2]), 1, 3, rne8);
  assert.deepEqual([...neg.exponents], [0]);
  assert.deepEqual([...neg.q], [-127, 32, 64]);
  // A power-of-two maximum: m = 2 → e = 2, Δ = 2^-5, 2 ↦ 64.
  const pow = referenceQuantise(f32([2, -0.03125, 0.015625]), 1, 3, rne8);
  assert.deepEqual([...pow.exponents], [2]);
  assert.deepEqual([...pow.q], [64, -1, 0]);
  // Zero tensor: e = 0, q = 0.
  const zero = referenceQuantise(new Float32Array(5), 1, 5, rne8);
  assert.deepEqual([...zero.exponents], [0]);
  assert.deepEqual([...zero.q], [0, 0, 0, 0, 0]);
});

Deno.test("BFP12 and BFP16 use steps 2^(e-11) and 2^(e-15) and int16 storage", () => {
  const x = f32([1, 1 / 1024, -3 / 2048, below(1)]);
  const b12 = referenceQuantise(x, 1, 4, {
    bits: 12,
    rounding: "rne",
    granularity: "tensor",
  });
  assert.ok(b12.q instanceof Int16Array);
  assert.deepEqual([...b12.q], [1024, 1, -2, 1024]);
  const b16 = referenceQuantise(f32([below(1)]), 1, 1, {
    bits: 16,
    rounding: "rne",
    granularity: "tensor",
  });
  assert.deepEqual([...b16.exponents, ...b16.q], [0, 32767]);
});

Deno.test("per-row and per-column exponents follow each group's own maximum", () => {
  const x = f32([1, 0.5, 8, -0.25, 0.125, 2]); // 2 × 3
  const row = referenceQuantise(x, 2, 3, {
    bits: 8,
    rounding: "rne",
    granularity: "row",
  });
  assert.deepEqual([...row.exponents], [4, 2]);
  assert.deepEqual([...row.q], [8, 4, 64, -8, 4, 64]);
  const col = referenceQuantise(x, 2, 3, {
    bits: 8,
    rounding: "rne",
    granularity: "col",
  });
  assert.deepEqual([...col.exponents], [1, 0, 4]);
  assert.deepEqual([...col.q], [64, 64, 64, -16, 16, 16]);
  assert.deepEqual([...referenceMaxAbs(x, 2, 3, "col")], [1, 0.5, 8]);
});

Deno.test("dequantise gives q·Δ, and tiny tensors keep full precision via two factors", () => {
  const x = f32([3, -1.25, 0.0078125]);
  const t = referenceQuantise(x, 1, 3, {
    bits: 8,
    rounding: "rne",
    granularity: "tensor",
  });
  assert.deepEqual([...referenceDequantise(t)], [3, -1.25, 0]);
  // m = 2^-140 (subnormal f32): 1/Δ = 2^(7+139) is beyond f32, yet the map is exact.
  const tiny = f32([2 ** -140, -(2 ** -141), 3 * 2 ** -146]);
  const tq = referenceQuantise(tiny, 1, 3, {
    bits: 8,
    rounding: "rne",
    granularity: "tensor",
  });
  assert.deepEqual([...tq.exponents], [-139]);
  assert.deepEqual([...tq.q], [64, -32, 3]);
  assert.deepEqual([...referenceDequantise(tq)], [...tiny]);
  assert.deepEqual(pow2Factors(150), [2 ** 127, 2 ** 23]);
  assert.deepEqual(pow2Factors(-150), [2 ** -126, 2 ** -24]);
});

Deno.test("non-finite inputs are refused, not mapped", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(
      () =>
        referenceQuantise(f32([1, bad]), 1, 2, {
          bits: 8,
          rounding: "rne",
          granularity: "tensor",
        }),
      /NaN or infinity/,
    );
  }
  assert.throws(
    () =>
      referenceQuantise(f32([1]), 1, 1, {
        bits: 8,
        rounding: "sr",
        granularity: "tensor",
      }),
    /needs a seed/,
  );
});

Deno.test("GEMM epilogue scale is 2^(ex+ew-2(b-1)) and accumulators scale per row and column", () => {
  assert.equal(gemmEpilogueScale(3, -1), 2 ** (3 - 1 - 14));
  assert.equal(gemmEpilogueScale(3, -1, 12), 2 ** (3 - 1 - 22));
  assert.throws(() => gemmEpilogueScale(-100, -20), /not a normal f32/);
  const acc = Int32Array.from([1, -2, 3, 16777217]);
  assert.deepEqual(
    [...scaleAccumulators(acc, 2, 2, Int32Array.of(14, 15), 0)],
    [1, -2, 6, 33554432],
  );
  assert.deepEqual(
    [...scaleAccumulators(acc, 2, 2, 7, Int32Array.of(7, 8))],
    [1, -4, 3, 33554432],
  );
});
