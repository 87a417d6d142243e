/**
 * Golden IR per recipe: `golden/two_layers.before.ir` (a two-layer MLP with
 * its backward) through every pass of a recipe's training step must print
 * as `golden/<recipe>.after.ir`. `deno run -A tests/recipes/recipe_golden.ts`
 * rewrites the after files; review them in the diff.
 *
 * @module
 */

import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import {
  parseRecipe,
  RECIPE_NAMES,
  recipePasses,
  trainingTarget,
} from "../../src/recipes/mod.ts";

/** The folder of the recipe golden files. */
export const RECIPE_GOLDEN_DIR = new URL("./golden/", import.meta.url).pathname;

/** The shared before-text. */
export function goldenBefore(): string {
  return Deno.readTextFileSync(`${RECIPE_GOLDEN_DIR}two_layers.before.ir`);
}

/** The before-text through the training-step passes of `recipe`. */
export function runRecipeGolden(recipe: string, before: string): string {
  const graph = parseGraph(before, { weights: () => undefined });
  const filled = new Map(
    [...graph.constants].map((
      [name, t],
    ) => [name, t.data.length === 0 ? tensor(t.dtype, t.shape) : t]),
  );
  const after = runPipeline(
    { ...graph, constants: filled },
    DEFAULT_OPTIONS,
    recipePasses(trainingTarget(parseRecipe(recipe))),
  );
  verify(after, { requireTypes: true, requireStatic: true });
  return printGraph(after);
}

if (import.meta.main) {
  for (const recipe of RECIPE_NAMES) {
    Deno.writeTextFileSync(
      `${RECIPE_GOLDEN_DIR}${recipe}.after.ir`,
      runRecipeGolden(recipe, goldenBefore()),
    );
    console.log(`wrote ${recipe}.after.ir`);
  }
}
