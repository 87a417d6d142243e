/**
 * `outlier-split` (Approach 1, NUMERICS.md §3): the activation X of every
 * weighted forward product becomes X_in (|x| ≤ γ, BFP8) and X_out (|x| > γ,
 * BFP12 with its own exponent); the product becomes two products and an Add,
 * and dW = Xᵀ·dY reuses the saved streams. Gradients are never split.
 *
 * Before (after `bfp-quantize` on W):
 * ```text
 * %y: f32[4,3] = MatMul(x, /dense/MatMul/quantize_b) @/dense/MatMul
 * ```
 * After:
 * ```text
 * %/dense/MatMul/outlier_split/inliers: f32[4,8], %/dense/MatMul/outlier_split/outliers: f32[4,8] = OutlierSplit(x, step) {gamma=5.0, inlier_bits=8, outlier_bits=12, …} @/dense/MatMul/outlier_split
 * %/dense/MatMul/main: f32[4,3] = MatMul(/dense/MatMul/outlier_split/inliers, /dense/MatMul/quantize_b) @/dense/MatMul/main
 * %/dense/MatMul/outliers: f32[4,3] = MatMul(/dense/MatMul/outlier_split/outliers, /dense/MatMul/quantize_b) @/dense/MatMul/outliers
 * %y: f32[4,3] = Add(/dense/MatMul/main, /dense/MatMul/outliers) @/dense/MatMul/sum
 * ```
 * The full pair, backward included, is
 * `tests/passes/golden/outlier-split.{before,after}.ir`.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { rewriteOutliers } from "../recipes/outlier_rewrite.ts";
import type { QuantizeTarget } from "../recipes/quantizer.ts";
import type { Pass } from "./pass.ts";

/** Approach 1 on every weighted product's activation; see the module doc. */
export function outlierSplit(graph: Graph, target: QuantizeTarget): Graph {
  return rewriteOutliers(graph, target, "split");
}

/** The `outlier-split` pass for one graph of a recipe. */
export function outlierSplitPass(target: QuantizeTarget): Pass {
  return {
    name: "outlier-split",
    summary:
      "Approach 1: activations → BFP8 inliers + BFP12 outliers, two products",
    requires: [],
    provides: ["outliers-treated"],
    run: (graph) => outlierSplit(graph, target),
  };
}
