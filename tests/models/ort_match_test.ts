/**
 * Every ONNX model under shared/models imports, specialises to static
 * shapes, and runs in the reference executor with outputs matching
 * onnxruntime-node on real sentences within 1e-4 relative error.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import { verify } from "../../src/ir/verify.ts";
import { findModels, SHARED } from "./model_inputs.ts";
import { compareWithOrt } from "./ort_oracle.ts";

for (const model of findModels()) {
  const name = relative(SHARED, model);
  Deno.test(`${name} matches onnxruntime-node on real sentences`, async () => {
    const { compiled, warnings, outputs } = await compareWithOrt(model);
    if (name.includes("nonconforming/")) {
      assert.ok(
        warnings.length > 0,
        "a nonconforming model imports with a warning",
      );
    }
    verify(compiled, { requireStatic: true });
    for (const output of outputs) {
      assert.deepEqual(
        [...output.shape],
        [...output.ortShape],
        `${output.name} shape`,
      );
      assert.ok(
        output.relativeError <= 1e-4,
        `${output.name}: relative error ${
          output.relativeError.toExponential(2)
        } > 1e-4`,
      );
    }
  });
}
