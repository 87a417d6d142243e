/**
 * SmoothQuant on bert-tiny-random and tessera-bert-mini: calibrated on one
 * batch of MRPC dev sentences, every LayerNorm that starts a post-LN block
 * is smoothed, and the f32 outputs on the same sentences stay within 1e-5
 * relative (∞-norm) of the unsmoothed model's.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { execute } from "../../src/executor/execute.ts";
import { verify } from "../../src/ir/verify.ts";
import { smoothQuant } from "../../src/passes/smooth_quant.ts";
import { collectSmoothQuantStats } from "../../src/passes/smooth_quant_stats.ts";
import { SHARED } from "../models/model_inputs.ts";
import { fusedModel, worstChange } from "./rewrite_checks.ts";

for (
  const model of [
    "models/bert-tiny-random/model.onnx",
    "models/tessera-bert-mini/encoder.onnx",
  ]
) {
  Deno.test(`smoothQuant keeps ${model}'s f32 outputs`, async () => {
    const { fused, feeds } = await fusedModel(join(SHARED, model));
    const stats = collectSmoothQuantStats(fused, [feeds]);
    const { graph: smoothed, smoothed: done, skipped } = smoothQuant(
      fused,
      stats,
      { alpha: 0.5 },
    );
    verify(smoothed, { requireTypes: true, requireStatic: true });
    assert.ok(done.length >= 3, `${done.length} LayerNorms smoothed`);
    for (const s of skipped) {
      assert.match(s.reason, /^no residual Add|^it is a graph output$/);
    }
    // s must actually differ from 1, or the check below proves nothing.
    const s = Array.from(smoothed.constants.get(done[0].scale)!.data);
    assert.ok(s.some((v) => Math.abs(v - 1) > 0.1), `s = ${s.slice(0, 4)}`);
    const change = worstChange(execute(fused, feeds), execute(smoothed, feeds));
    console.log(`${model}: relative change ${change.toExponential(2)}`);
    assert.ok(change <= 1e-5, `relative change ${change}`);
  });
}
