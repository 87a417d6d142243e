/**
 * `outlier-tile` (Approach 2, NUMERICS.md §3): the activation X of every
 * weighted forward product becomes the BFP8 remainder r = x − 2γk and the
 * exact coarse part 2γ·k, k = ⌊(x+γ)/(2γ)⌋; the product becomes two
 * products and an Add, and dW = Xᵀ·dY reuses the saved streams. The third
 * output of `OutlierTile` counts the elements with |k| > 127 (the tensors
 * that need the int16 k path). Gradients are never split.
 *
 * Before (after `bfp-quantize` on W):
 * ```text
 * %y: f32[4,3] = MatMul(x, /dense/MatMul/quantize_b) @/dense/MatMul
 * ```
 * After:
 * ```text
 * %/dense/MatMul/outlier_tile/remainder: f32[4,8], …/coarse: f32[4,8], …/wide: i64[] = OutlierTile(x, step) {bits=8, gamma=5.0, …} @/dense/MatMul/outlier_tile
 * %/dense/MatMul/main: f32[4,3] = MatMul(/dense/MatMul/outlier_tile/remainder, /dense/MatMul/quantize_b) @/dense/MatMul/main
 * %/dense/MatMul/coarse: f32[4,3] = MatMul(/dense/MatMul/outlier_tile/coarse, /dense/MatMul/quantize_b) @/dense/MatMul/coarse
 * %y: f32[4,3] = Add(/dense/MatMul/main, /dense/MatMul/coarse) @/dense/MatMul/sum
 * ```
 * The full pair, backward included, is
 * `tests/passes/golden/outlier-tile.{before,after}.ir`.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { rewriteOutliers } from "../recipes/outlier_rewrite.ts";
import type { QuantizeTarget } from "../recipes/quantizer.ts";
import type { Pass } from "./pass.ts";

/** Approach 2 on every weighted product's activation; see the module doc. */
export function outlierTile(graph: Graph, target: QuantizeTarget): Graph {
  return rewriteOutliers(graph, target, "tile");
}

/** The `outlier-tile` pass for one graph of a recipe. */
export function outlierTilePass(target: QuantizeTarget): Pass {
  return {
    name: "outlier-tile",
    summary:
      "Approach 2: activations → BFP8 remainder + exact 2γ·k, two products",
    requires: [],
    provides: ["outliers-treated"],
    run: (graph) => outlierTile(graph, target),
  };
}
