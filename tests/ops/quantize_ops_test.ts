import assert from "node:assert/strict";
import {
  referenceDequantise,
  referenceQuantise,
} from "../../src/codegen/bfp/reference.ts";
import {
  referenceSplit,
  referenceTile,
} from "../../src/codegen/outlier/reference.ts";
import { roundToF16 } from "../../src/ir/dtype.ts";
import { attr } from "../../src/ir/graph.ts";
import { scalar, type Tensor, tensor } from "../../src/ir/tensor.ts";
import { streamSeed } from "../../src/ops/quantize_ops.ts";
import { assertOpError, evaluate, infer, run, vt } from "./_helpers.ts";

/** A [rows, cols] f32 tensor of mixed magnitudes with a few planted outliers. */
function sample(rows: number, cols: number, seed: number): Tensor {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const values = Array.from({ length: rows * cols }, () => 2 * next());
  // Not multiples of BFP12's step 1/32, so stochastic rounding draws for them.
  values[3] = 37.513;
  values[cols + 1] = -61.2371;
  values[2 * cols + 3] = 9.0123;
  return tensor("f32", [rows, cols], values);
}

const STOCHASTIC = attr.string("stochastic");
const NEAREST = attr.string("nearest");

Deno.test("BfpQuantize is the BFP reference's map and inverse map, for any width and granularity", () => {
  const x = sample(6, 10, 1);
  for (const bits of [4, 8, 12, 16]) {
    for (
      const [granularity, ref] of [["tensor", "tensor"], ["row", "row"], [
        "column",
        "col",
      ]] as const
    ) {
      const attrs = {
        bits: attr.int(bits),
        granularity: attr.string(granularity),
        rounding: NEAREST,
      };
      const got = run("BfpQuantize", [x], attrs);
      const want = referenceDequantise(
        referenceQuantise(x.data as Float32Array, 6, 10, {
          bits: bits as 8,
          rounding: "rne",
          granularity: ref,
        }),
      );
      assert.deepEqual(got.data, want, `b${bits} ${granularity}`);
    }
  }
  const coarse = run("BfpQuantize", [x], {
    bits: attr.int(8),
    rounding: NEAREST,
  });
  // BFP8 of a tensor whose max is 61.25: Δ = 2^(6−7) = 0.5, so small values round to 0 or ±0.5.
  assert.equal(coarse.data[1 * 10 + 1], -61);
  assert.ok(Array.from(coarse.data).every((v) => Number.isInteger(v * 2)));
});

Deno.test("BfpQuantize rounds stochastically from (stream, seed): reproducible, per step, unbiased", () => {
  const x = tensor(
    "f32",
    [1, 4096],
    Array.from({ length: 4096 }, (_, i) => i === 0 ? 1 : 0.3),
  );
  const attrs = {
    bits: attr.int(8),
    rounding: STOCHASTIC,
    stream: attr.int(77),
  };
  const a = run("BfpQuantize", [x, scalar("i64", 3)], attrs).data;
  const b = run("BfpQuantize", [x, scalar("i64", 3)], attrs).data;
  const c = run("BfpQuantize", [x, scalar("i64", 4)], attrs).data;
  const d = run("BfpQuantize", [x, scalar("i64", 3)], {
    ...attrs,
    stream: attr.int(78),
  }).data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, d);
  const want = referenceDequantise(
    referenceQuantise(x.data as Float32Array, 1, 4096, {
      bits: 8,
      rounding: "sr",
      granularity: "tensor",
    }, { seed: streamSeed(77, 3) }),
  );
  assert.deepEqual(a, want);
  // Δ = 2^(1−7): 0.3 lies between 38 and 39 steps; the mean stays within 3σ of 0.3.
  const mean = Array.from(a).slice(1).reduce((s, v) => s + v, 0) / 4095;
  assert.ok(
    Math.abs(mean - 0.3) < 3 * (0.5 / 64) / Math.sqrt(4095),
    `mean ${mean}`,
  );
  assertOpError(
    () => evaluate("BfpQuantize", [x], attrs),
    /needs a seed input/,
  );
});

Deno.test("BfpQuantize and F16Round type rules refuse what they cannot map", () => {
  assert.deepEqual(infer("BfpQuantize", [vt("f32", [2, 3])]), [
    vt("f32", [2, 3]),
  ]);
  assertOpError(
    () => infer("BfpQuantize", [vt("i64", [2])]),
    /needs an f32 input/,
  );
  assertOpError(
    () => infer("BfpQuantize", [vt("f32", [2]), vt("i64", [1])]),
    /seed must be an i64 or i32 scalar/,
  );
  assertOpError(
    () => infer("BfpQuantize", [vt("f32", [2])], [], { bits: attr.int(17) }),
    /bits must be from 2 to 16/,
  );
  assertOpError(
    () =>
      infer("BfpQuantize", [vt("f32", [2])], [], {
        granularity: attr.string("block"),
      }),
    /granularity must be/,
  );
  assertOpError(
    () =>
      infer("BfpQuantize", [vt("f32", [2])], [], {
        rounding: attr.string("up"),
      }),
    /rounding must be/,
  );
  assertOpError(
    () => evaluate("BfpQuantize", [tensor("f32", [2], [1, NaN])]),
    /NaN or infinity/,
  );
});

Deno.test("F16Round rounds every element to f16 (ties to even), keeping f32", () => {
  const x = tensor("f32", [4], [1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 1e-8]);
  const y = run("F16Round", [x]);
  assert.deepEqual(Array.from(y.data), [
    1,
    1 + 2 ** -9,
    Infinity,
    roundToF16(1e-8),
  ]);
  assert.equal(y.dtype, "f32");
});

Deno.test("OutlierSplit gives Approach 1's streams: the outlier reference, scattered back dense", () => {
  const x = sample(5, 12, 2);
  for (const rounding of [NEAREST, STOCHASTIC]) {
    const attrs = { gamma: attr.float(5), rounding, stream: attr.int(9) };
    const [inliers, outliers] = evaluate(
      "OutlierSplit",
      [x, scalar("i64", 11)],
      attrs,
      2,
    );
    const ref = referenceSplit(x.data as Float32Array, 5, 12, {
      gamma: 5,
      rounding: rounding === NEAREST ? "rne" : "sr",
      seed: streamSeed(9, 11),
    });
    assert.deepEqual(inliers.data, referenceDequantise(ref.inliers));
    const gathered = referenceDequantise(ref.outliers);
    const dense = new Float32Array(60);
    ref.columns.forEach((c, k) => {
      for (let i = 0; i < 5; i++) {
        dense[i * 12 + c] = gathered[i * ref.columns.length + k];
      }
    });
    assert.deepEqual(outliers.data, dense);
    // Disjoint supports: |x| > γ only in the outlier stream.
    for (let i = 0; i < 60; i++) {
      assert.ok(inliers.data[i] === 0 || outliers.data[i] === 0);
      assert.equal(outliers.data[i] !== 0, Math.abs(x.data[i]) > 5);
    }
  }
  assert.deepEqual(outlierWidths(x), [-61.25, 9, 37.5]);
});

/** The nonzero values of the BFP12 outlier stream (exact here: few bits). */
function outlierWidths(x: Tensor): number[] {
  const [, outliers] = evaluate(
    "OutlierSplit",
    [x],
    { gamma: attr.float(5) },
    2,
  );
  return Array.from(outliers.data).filter((v) => v !== 0).sort((a, b) => a - b);
}

Deno.test("OutlierTile gives Approach 2's streams: exact 2γ·k, the remainder's BFP map, and the |k| > 127 count", () => {
  const x = sample(5, 12, 3);
  for (const rounding of [NEAREST, STOCHASTIC]) {
    const attrs = { gamma: attr.float(5), rounding, stream: attr.int(4) };
    const [a, coarse, wide] = evaluate(
      "OutlierTile",
      [x, scalar("i64", 2)],
      attrs,
      3,
    );
    const ref = referenceTile(x.data as Float32Array, 5, 12, {
      gamma: 5,
      rounding: rounding === NEAREST ? "rne" : "sr",
      seed: streamSeed(4, 2),
    });
    assert.deepEqual(a.data, referenceDequantise(ref.a));
    const k = new Float32Array(60);
    ref.columns.forEach((c, j) => {
      for (let i = 0; i < 5; i++) {
        k[i * 12 + c] = 10 * ref.k[i * ref.columns.length + j];
      }
    });
    assert.deepEqual(coarse.data, k);
    assert.equal(wide.data[0], 0);
  }
  const big = tensor("f32", [1, 3], [1300, -2000, 4.99]);
  const [, coarse, wide] = evaluate("OutlierTile", [big], {
    gamma: attr.float(5),
  }, 3);
  assert.deepEqual(Array.from(coarse.data), [1300, -2000, 0]);
  assert.equal(wide.data[0], 2);
  assert.deepEqual(
    infer("OutlierTile", [vt("f32", [2, 3])], [], {}, 3).map((t) => t.dtype),
    ["f32", "f32", "i64"],
  );
  assertOpError(
    () => evaluate("OutlierTile", [big], { gamma: attr.float(5.1) }, 3),
    /positive finite f32/,
  );
});
