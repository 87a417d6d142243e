/**
 * The comparison's strategies (src/ptq/strategies.ts) on bert-tiny-random
 * with real SST-2 sentences, in the reference executor.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseGlue } from "../../runtime/data/glue.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { feedsFor } from "../../src/analysis/model_feeds.ts";
import { rowTokens } from "../../src/analysis/outlier_report.ts";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import {
  cachedCompile,
  calibrationBatches,
  referenceRunner,
} from "../../src/ptq/calibrate.ts";
import { PtqError } from "../../src/ptq/params.ts";
import {
  isCalibrated,
  parseStrategy,
  prepareStrategy,
  STRATEGIES,
} from "../../src/ptq/strategies.ts";
import { layerNormMaxima } from "../../src/ptq/transforms.ts";

const MODEL = "../shared/models/bert-tiny-random/model.onnx";
const SST2 = "../shared/data/SST-2";

async function setup() {
  const tokenizer = await loadTokenizer(
    "../shared/models/bert-tiny-random/vocab.txt",
  );
  const train = parseGlue(
    "SST-2",
    "train",
    await Deno.readTextFile(join(SST2, "train.tsv")),
    "train.tsv",
  ).slice(0, 4);
  const imported = importOnnxFile(MODEL).graph;
  const f32 = cachedCompile((batch, seq) =>
    runPipeline(imported, { batch, seq, dims: {} })
  );
  return { f32, batches: calibrationBatches(train, tokenizer, 4, 128) };
}

Deno.test("strategies: names, calibration, and a clear error", () => {
  assert.equal(parseStrategy("os-w6a6"), "os-w6a6");
  assert.deepEqual(
    STRATEGIES.filter((s) => !isCalibrated(s)),
    ["fp32", "llm-int8"],
  );
  assert.throws(
    () => parseStrategy("awq"),
    (e: Error) =>
      e instanceof PtqError && /Unknown strategy 'awq'/.test(e.message),
  );
});

Deno.test("strategies: each serves logits near f32 on bert-tiny", async () => {
  // os-w6a6 runs os-w8a8's code with three times the α candidates.
  const { f32, batches } = await setup();
  const batch = batches[0];
  const want = execute(
    f32(batch.batchSize, batch.seqLength),
    feedsFor(
      f32(batch.batchSize, batch.seqLength),
      batch,
    ),
  ).get("logits")!.data;
  const scale = Math.max(...Array.from(want, Math.abs));
  const errors = new Map<string, number>();
  for (const strategy of STRATEGIES.filter((s) => s !== "os-w6a6")) {
    const prepared = await prepareStrategy(
      strategy,
      f32,
      batches,
      () => referenceRunner,
    );
    const g = prepared.compile(batch.batchSize, batch.seqLength);
    const got = execute(g, feedsFor(g, batch)).get("logits")!.data;
    let err = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
    }
    errors.set(strategy, err / scale);
    assert.equal(prepared.calibration !== undefined, isCalibrated(strategy));
    if (strategy.startsWith("os-")) {
      assert.ok(
        g.constants.size > 0 &&
          g.nodes.some((n) =>
            n.name.includes("gamma_residual") ||
            n.outputs[0].includes("gamma_residual")
          ),
        "gamma migrated",
      );
      assert.ok(prepared.calibration!.alpha <= 1);
    }
    if (strategy === "smoothquant-w8a8") {
      assert.ok(g.nodes.some((n) => n.outputs[0].includes("smooth_residual")));
    }
  }
  assert.equal(errors.get("fp32"), 0);
  for (const [s, e] of errors) assert.ok(e < 0.5, `${s}: ${e}`);
  assert.ok(errors.get("minmax-w8a8")! < errors.get("minmax-w6a6")!);
});

Deno.test("SmoothQuant statistics: real tokens only", async () => {
  const { f32, batches } = await setup();
  const stats = await layerNormMaxima(f32, batches, referenceRunner);
  const batch = batches[0];
  const g = f32(batch.batchSize, batch.seqLength);
  const norms = g.nodes.filter((n) => n.op === "LayerNorm");
  assert.equal(stats.size, norms.length);
  const value = norms[0].outputs[0];
  const t = execute(g, feedsFor(g, batch), [value]).get(value)!;
  const width = t.shape[t.shape.length - 1];
  const token = rowTokens(batch, t.data.length / width);
  const want = new Float64Array(width);
  for (let r = 0; r < t.data.length / width; r++) {
    if (token(r) === undefined) continue;
    for (let j = 0; j < width; j++) {
      want[j] = Math.max(want[j], Math.abs(t.data[r * width + j]));
    }
  }
  assert.deepEqual(Array.from(stats.get(value)!), Array.from(want));
});
