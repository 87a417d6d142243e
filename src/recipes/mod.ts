/**
 * Precision recipes: the recipe table and its parser, what a graph's
 * quantisation is compiled for, and the passes that apply a recipe.
 *
 * @module
 */

export * from "./recipe.ts";
export {
  evaluationTarget,
  type QuantizeTarget,
  trainingTarget,
} from "./quantizer.ts";
export { recipePasses } from "./pipeline.ts";
export { RewriteError } from "./sites.ts";
