/**
 * Before/after IR files for every pass: `golden/<pass>.before.ir` goes
 * through that one pass and must print as `golden/<pass>.after.ir`.
 * `deno task golden` rewrites the after files; review them in the diff.
 *
 * @module
 */

import { tensor } from "../../src/ir/tensor.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { verify } from "../../src/ir/verify.ts";
import { autodiffPass } from "../../src/passes/autodiff.ts";
import { bfpQuantizePass } from "../../src/passes/bfp_quantize.ts";
import { gammaMigrationPass } from "../../src/passes/gamma_migration.ts";
import { insertDropoutPass } from "../../src/passes/insert_dropout.ts";
import { llmInt8Pass } from "../../src/passes/llm_int8.ts";
import { outlierSplitPass } from "../../src/passes/outlier_split.ts";
import { outlierTilePass } from "../../src/passes/outlier_tile.ts";
import type { Pass } from "../../src/passes/pass.ts";
import { smoothQuantPass } from "../../src/passes/smooth_quant.ts";
import { FORWARD_PIPELINE } from "../../src/passes/pipeline.ts";
import { parseRecipe, trainingTarget } from "../../src/recipes/mod.ts";

/** The folder of the golden files. */
export const GOLDEN_DIR = new URL("./golden/", import.meta.url).pathname;

/** Options every golden run uses. */
export const GOLDEN_OPTIONS = { batch: 2, seq: 8, dims: {} };

/** Passes outside the forward pipeline, with the options their golden graph needs. */
const EXTRA_PASSES: readonly Pass[] = [
  autodiffPass({ loss: "loss", wrt: ["w", "b"] }),
  bfpQuantizePass(trainingTarget(parseRecipe("int8"))),
  gammaMigrationPass(),
  insertDropoutPass({ hidden: 0.1, attention: 0.2, seed: 1 }),
  llmInt8Pass(),
  outlierSplitPass(trainingTarget(parseRecipe("int8-a1"))),
  outlierTilePass(trainingTarget(parseRecipe("int8-a2"))),
  // Calibrated max|X_j| of the golden graph's two smoothable LayerNorms.
  smoothQuantPass(
    new Map([
      ["/embeddings/LayerNorm_output_0", [4, 1, 0.25, 0]],
      ["/layer.0/attention/output/LayerNorm_output_0", [1, 9, 4, 16]],
    ]),
  ),
];

/** Every pass that has golden files, by name. */
export function goldenPasses(): Map<string, Pass> {
  return new Map(
    [...FORWARD_PIPELINE, ...EXTRA_PASSES].map((p) => [p.name, p]),
  );
}

/**
 * Runs `pass` on the before-text. Large constants in golden files hold no
 * data (digest 0); they are filled with zeros so passes can read them.
 */
export function runGolden(pass: Pass, before: string): string {
  const graph = parseGraph(before, {
    weights: () => undefined,
  });
  const filled = new Map(
    [...graph.constants].map((
      [name, t],
    ) => [name, t.data.length === 0 ? tensor(t.dtype, t.shape) : t]),
  );
  const after = pass.run({ ...graph, constants: filled }, GOLDEN_OPTIONS);
  verify(after);
  return printGraph(after);
}

if (import.meta.main) {
  for (const [name, pass] of goldenPasses()) {
    const before = Deno.readTextFileSync(`${GOLDEN_DIR}${name}.before.ir`);
    Deno.writeTextFileSync(
      `${GOLDEN_DIR}${name}.after.ir`,
      runGolden(pass, before),
    );
    console.log(`wrote ${name}.after.ir`);
  }
}
