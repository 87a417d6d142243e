/**
 * SmoothQuant on the small golden post-LN block: the factors, the balance
 * they strike between activation and weight ranges, that outputs stay put,
 * what is skipped, and the refusals. Whole models:
 * `smooth_quant_models_test.ts`.
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { verify } from "../../src/ir/verify.ts";
import {
  smoothingFactors,
  smoothQuant,
  smoothQuantPass,
} from "../../src/passes/smooth_quant.ts";
import { collectSmoothQuantStats } from "../../src/passes/smooth_quant_stats.ts";
import { rng } from "../ir/random_graph.ts";
import { goldenBefore, uniformFeeds, worstChange } from "./rewrite_checks.ts";

const block = goldenBefore("smooth-quant");
const EMB = "/embeddings/LayerNorm_output_0";
const ATT = "/layer.0/attention/output/LayerNorm_output_0";

/** `count` seeded batches of ±3 uniform inputs. */
function batches(graph: Graph, seed: number, count: number) {
  const next = rng(seed);
  return Array.from({ length: count }, () => uniformFeeds(graph, next));
}

/** max|W_j| over rows j of the x·W weights `names` of `graph`. */
function rowMaxima(graph: Graph, names: string[], width: number): number[] {
  const max = new Array<number>(width).fill(0);
  for (const name of names) {
    const w = graph.constants.get(name)!;
    w.data.forEach((v, i) => {
      const j = Math.floor(i / w.shape[1]);
      max[j] = Math.max(max[j], Math.abs(v));
    });
  }
  return max;
}

Deno.test("smoothingFactors: max|X|^α / max|W|^(1−α), 1 where a range is 0", () => {
  const s = smoothingFactors([4, 9, 0, 2], [1, 4, 3, 0], 0.5);
  assert.deepEqual(s, [2, 1.5, 1, 1]);
  const t = smoothingFactors([8], [4], 0.75);
  assert.ok(Math.abs(t[0] - 8 ** 0.75 / 4 ** 0.25) < 1e-12);
});

Deno.test("smoothQuant refuses α outside (0, 1)", () => {
  const stats = new Map([[EMB, [1, 1, 1, 1]]]);
  for (const alpha of [0, 1, -0.5, 1.5, NaN]) {
    assert.throws(
      () => smoothQuant(block, stats, { alpha }),
      /α must lie strictly between 0 and 1/,
    );
    assert.throws(() => smoothQuantPass(stats, { alpha }), RangeError);
  }
});

Deno.test("smoothQuant keeps every output and balances X and W ranges", () => {
  const calibration = batches(block, 3, 4);
  const stats = collectSmoothQuantStats(block, calibration);
  const { graph, smoothed, skipped } = smoothQuant(block, stats);
  verify(graph, { requireTypes: true, requireStatic: true });
  assert.deepEqual(smoothed.map((s) => s.layerNorm), [
    "/embeddings/LayerNorm",
    "/layer.0/attention/output/LayerNorm",
  ]);
  assert.deepEqual(skipped.map((s) => s.layerNorm), [
    "/layer.0/output/LayerNorm",
  ]);
  for (const feeds of batches(block, 11, 2)) {
    const change = worstChange(
      execute(block, feeds),
      execute(graph, feeds),
    );
    assert.ok(change <= 1e-6, `relative change ${change}`);
  }
  // With α = ½, max|X_j/s_j| = max|s_j·W_j| = √(max|X_j|·max|W_j|): on the
  // calibration data the smoothed activation and weight ranges coincide.
  const after = collectSmoothQuantStats(graph, calibration);
  const xAfter = Array.from(after.get(EMB)!);
  const wAfter = rowMaxima(graph, ["wq", "wk.smoothed"], 4);
  xAfter.forEach((x, j) => {
    assert.ok(Math.abs(x - wAfter[j]) <= 1e-5 * x, `channel ${j}`);
  });
  // The shortcut Mul carries s, so the residual sees the original X.
  const s = graph.constants.get(`g0.smooth_scale`)!.data;
  const xBefore = stats.get(EMB)!;
  const wBefore = rowMaxima(block, ["wq", "wk"], 4);
  s.forEach((v, j) => {
    const expected = Math.sqrt(xBefore[j] / wBefore[j]);
    assert.ok(Math.abs(v - expected) <= 1e-6 * expected, `s_${j}`);
  });
});

Deno.test("smoothQuant with α = 0.8 moves more of the range into W", () => {
  const stats = collectSmoothQuantStats(block, batches(block, 5, 2));
  const half = smoothQuant(block, stats, { alpha: 0.5 }).graph;
  const more = smoothQuant(block, stats, { alpha: 0.8 }).graph;
  const feeds = batches(block, 6, 1)[0];
  assert.ok(worstChange(execute(block, feeds), execute(more, feeds)) < 1e-6);
  const xMax = (g: Graph) =>
    Math.max(...collectSmoothQuantStats(g, [feeds]).get(ATT)!);
  assert.ok(xMax(more) < xMax(half), `${xMax(more)} vs ${xMax(half)}`);
});

Deno.test("smoothQuant skips sites without stats and rejects wrong widths", () => {
  const only = new Map([[ATT, [1, 2, 3, 4]]]);
  const { smoothed, skipped } = smoothQuant(block, only);
  assert.deepEqual(smoothed.map((s) => s.linears), [[
    "/layer.0/intermediate/dense/Gemm",
  ]]);
  assert.deepEqual(skipped.map((s) => s.reason), [
    "no calibration stats",
    "it is a graph output",
  ]);
  assert.throws(
    () => smoothQuant(block, new Map([[EMB, [1, 2, 3]]])),
    /have 3 channels, the LayerNorm 4/,
  );
});
