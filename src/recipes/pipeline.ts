/**
 * The passes a recipe runs on one graph, in order: `bfp-quantize` (W, dY,
 * and X where outliers are untreated), then `outlier-split` or
 * `outlier-tile` (X of the weighted products). `fp32` runs none.
 *
 * @module
 */

import { bfpQuantizePass } from "../passes/bfp_quantize.ts";
import { outlierSplitPass } from "../passes/outlier_split.ts";
import { outlierTilePass } from "../passes/outlier_tile.ts";
import type { Pass } from "../passes/pass.ts";
import type { QuantizeTarget } from "./quantizer.ts";

/** The passes that apply `target.recipe` to a graph. */
export function recipePasses(target: QuantizeTarget): Pass[] {
  const { recipe } = target;
  if (recipe.format === "f32") return [];
  const passes = [bfpQuantizePass(target)];
  if (recipe.outliers === "split") passes.push(outlierSplitPass(target));
  if (recipe.outliers === "tile") passes.push(outlierTilePass(target));
  return passes;
}
