/**
 * Before/after IR files for the `optimizer` pass, which takes settings the
 * shared golden runner (`golden.ts`) has no place for:
 * `optimizer_golden/<name>.before.ir` through the pass must print as
 * `<name>.after.ir`. `deno run -A tests/passes/optimizer_golden.ts`
 * rewrites the after files; review them in the diff.
 *
 * @module
 */

import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { verify } from "../../src/ir/verify.ts";
import { optimizerPass } from "../../src/passes/optimizer.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";

/** The folder of the golden files. */
export const OPTIMIZER_GOLDEN_DIR =
  new URL("./optimizer_golden/", import.meta.url).pathname;

/** The golden cases: base names of the before/after pairs. */
export const OPTIMIZER_GOLDEN_CASES = ["linear_regression"];

/** The settings every golden run uses: warm-up, decay and clipping all on. */
export const GOLDEN_PASS = optimizerPass({
  lr: 1e-3,
  warmupSteps: 10,
  totalSteps: 100,
  weightDecay: 0.01,
  maxGradNorm: 1,
});

/** Runs the pass on before-text and prints the result, verified. */
export function runOptimizerGolden(before: string): string {
  const after = GOLDEN_PASS.run(parseGraph(before), DEFAULT_OPTIONS);
  verify(after, { requireStatic: true });
  return printGraph(after);
}

if (import.meta.main) {
  for (const name of OPTIMIZER_GOLDEN_CASES) {
    const base = `${OPTIMIZER_GOLDEN_DIR}${name}`;
    const before = Deno.readTextFileSync(`${base}.before.ir`);
    Deno.writeTextFileSync(`${base}.after.ir`, runOptimizerGolden(before));
    console.log(`wrote ${name}.after.ir`);
  }
}
