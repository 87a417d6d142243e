import assert from "node:assert/strict";
import { RECIPE_NAMES } from "../../src/recipes/mod.ts";
import {
  goldenBefore,
  RECIPE_GOLDEN_DIR,
  runRecipeGolden,
} from "./recipe_golden.ts";

for (const recipe of RECIPE_NAMES) {
  Deno.test(`recipe ${recipe}: before/after IR of the training step`, () => {
    const before = goldenBefore();
    const after = Deno.readTextFileSync(
      `${RECIPE_GOLDEN_DIR}${recipe}.after.ir`,
    );
    const result = runRecipeGolden(recipe, before);
    assert.equal(result, after);
    if (recipe === "fp32") assert.equal(result, before, "fp32 changes nothing");
    else assert.notEqual(result, before, `${recipe} changed nothing`);
  });
}
