/**
 * Reference executor vs onnxruntime-node on every model in shared/models:
 * prints the markdown table that docs/RESULTS.md carries.
 *
 * Run: `npx --yes deno@2.9.6 run -A bench/ort_match.ts`
 *
 * @module
 */

import { relative } from "node:path";
import { findModels, SHARED } from "../tests/models/model_inputs.ts";
import { compareWithOrt } from "../tests/models/ort_oracle.ts";

console.log(
  "| model | batch × seq | nodes imported → compiled | output | shape | relative error (∞-norm) |",
);
console.log("|---|---|---|---|---|---|");
for (const model of findModels()) {
  const { imported, compiled, sizes, outputs } = await compareWithOrt(model);
  for (const o of outputs) {
    console.log(
      `| ${
        relative(SHARED, model)
      } | ${sizes.batch} × ${sizes.seq} | ${imported.nodes.length} → ${compiled.nodes.length} | ${o.name} | [${o.shape}] | ${
        o.relativeError.toExponential(1)
      } |`,
    );
  }
}
