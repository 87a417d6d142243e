/**
 * LLM.int8() on whole models with MRPC dev sentences: every linear MatMul
 * is rewritten, the forward runs, and its outputs stay close to f32 — at
 * the default threshold 6, at 3 (more dims through f32; on bert-tiny, whose
 * random-init activations stay below 4, only then does the mixed path run)
 * and exactly at 0 (every dim through f32).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { execute } from "../../src/executor/execute.ts";
import { verify } from "../../src/ir/verify.ts";
import { llmInt8 } from "../../src/passes/llm_int8.ts";
import { SHARED } from "../models/model_inputs.ts";
import { fusedModel, worstChange } from "./rewrite_checks.ts";

const MODELS: readonly [string, number][] = [
  ["models/bert-tiny-random/model.onnx", 5e-3],
  ["models/tessera-bert-mini/encoder.onnx", 3e-2],
];

for (const [model, tolerance] of MODELS) {
  Deno.test(`llmInt8 keeps ${model} close to f32`, async () => {
    const { fused, feeds } = await fusedModel(join(SHARED, model));
    const linears = fused.nodes.filter((n) =>
      n.op === "MatMul" && fused.constants.has(n.inputs[1])
    );
    const exact = execute(fused, feeds);
    const errors: number[] = [];
    for (const threshold of [6, 3, 0]) {
      const { graph: mixed, rewritten } = llmInt8(fused, { threshold });
      verify(mixed, { requireTypes: true, requireStatic: true });
      assert.deepEqual(rewritten, linears.map((n) => n.name));
      errors.push(worstChange(exact, execute(mixed, feeds)));
    }
    console.log(`${model}: relative error at threshold 6, 3, 0: ${errors}`);
    const [six, three, zero] = errors;
    assert.ok(six > 0 && six < tolerance, `threshold 6: ${six}`);
    assert.ok(three > 0 && three < tolerance, `threshold 3: ${three}`);
    assert.ok(zero < 1e-6, `threshold 0: ${zero}`);
  });
}
