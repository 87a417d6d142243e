/**
 * The served fine-tuned model (src/ptq/served_model.ts): the encoder, its
 * head and a run's weights at any batch shape, and a run folder read back.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { execute } from "../../src/executor/execute.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { attachHead } from "../../src/passes/attach_head.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import { weightNames } from "../../src/passes/training_pipeline.ts";
import { PtqError } from "../../src/ptq/params.ts";
import { loadFineTunedRun, servedGraph } from "../../src/ptq/served_model.ts";
import { parseRecipe } from "../../src/recipes/mod.ts";
import { saveCheckpoint } from "../../src/training/checkpoint_file.ts";
import { tinyModel, tinyOnnx } from "../finetune/tiny.ts";

/** The head's parameters of the tiny encoder at its initial values. */
function initialWeights() {
  const encoder = tinyModel(1);
  const compiled = runPipeline(
    encoder,
    { batch: 2, seq: 8, dims: {}, preserve: weightNames(encoder) },
    FORWARD_PIPELINE,
  );
  const headed = attachHead(compiled, "classification:2");
  return {
    encoder,
    weights: new Map(
      headed.params.map((p) => [p, headed.graph.constants.get(p)!]),
    ),
  };
}

function feeds(batch: number, seq: number) {
  const ids = Array.from({ length: batch * seq }, (_, i) => 5 + (i % 30));
  return new Map([
    ["input_ids", tensor("i64", [batch, seq], ids)],
    ["attention_mask", tensor("i64", [batch, seq], ids.map(() => 1))],
    ["token_type_ids", tensor("i64", [batch, seq], ids.map(() => 0))],
  ]);
}

Deno.test("served graph: logits only, any shape, the given weights", () => {
  const { encoder, weights } = initialWeights();
  const spec = { encoder, head: "classification:2", weights };
  for (const [b, s] of [[2, 8], [3, 16]]) {
    const g = servedGraph(spec, b, s);
    assert.deepEqual(g.outputs, ["logits"]);
    assert.ok(!g.inputs.some((n) => /label/.test(n)), `${g.inputs}`);
    const logits = execute(g, feeds(b, s)).get("logits")!;
    assert.deepEqual(logits.shape, [b, 2]);
  }
  // Other classifier weights give other logits: the weights are used.
  const name = [...weights.keys()].find((p) => /classifier/.test(p))!;
  const w = weights.get(name)!;
  const changed = new Map(weights).set(
    name,
    tensor("f32", w.shape, Array.from(w.data, (v) => 3 * v + 0.1)),
  );
  const a = execute(servedGraph(spec, 2, 8), feeds(2, 8)).get("logits")!;
  const b = execute(
    servedGraph({ ...spec, weights: changed }, 2, 8),
    feeds(2, 8),
  ).get("logits")!;
  assert.notDeepEqual(Array.from(a.data), Array.from(b.data));
});

Deno.test("served graph: a recipe adds its quantisers; missing weights refused", () => {
  const { encoder, weights } = initialWeights();
  const spec = { encoder, head: "classification:2", weights };
  const f32 = servedGraph(spec, 2, 8);
  const int8 = servedGraph(spec, 2, 8, parseRecipe("int8-a2"));
  assert.ok(int8.nodes.length > f32.nodes.length);
  const partial = new Map([...weights].slice(1));
  assert.throws(
    () => servedGraph({ ...spec, weights: partial }, 2, 8),
    (e: Error) => e instanceof PtqError && /lack 1 parameter/.test(e.message),
  );
});

Deno.test("run folder: metrics.json and checkpoint.bin read back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => loadFineTunedRun(dir),
      (e: Error) => e instanceof PtqError && /metrics\.json/.test(e.message),
    );
    const { weights } = initialWeights();
    const model = join(dir, "encoder.onnx");
    await Deno.writeFile(model, tinyOnnx(1));
    await saveCheckpoint(join(dir, "checkpoint.bin"), {
      step: 3,
      seed: 1,
      tensors: weights,
    });
    await Deno.writeTextFile(
      join(dir, "metrics.json"),
      JSON.stringify({
        model,
        task: "SST-2",
        options: {
          head: "classification:2",
          seed: 1,
          recipe: { name: "int8-a2" },
        },
        history: [{ dev: { accuracy: 0.5 } }, { dev: { accuracy: 0.75 } }],
      }),
    );
    const run = await loadFineTunedRun(dir);
    assert.equal(run.task, "SST-2");
    assert.equal(run.recipe.name, "int8-a2");
    assert.deepEqual(run.lastDev, { accuracy: 0.75 });
    assert.deepEqual(servedGraph(run.spec, 2, 8).outputs, ["logits"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
