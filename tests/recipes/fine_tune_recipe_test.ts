import assert from "node:assert/strict";
import { tinyModel, tinyOptions, tinySet } from "../finetune/tiny.ts";
import { fineTune } from "../../src/finetune/fine_tune.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { verify } from "../../src/ir/verify.ts";
import { compileTraining } from "../../src/passes/training_pipeline.ts";
import { parseRecipe, type RecipeOverrides } from "../../src/recipes/mod.ts";

const imported = tinyModel(3);

function compile(recipe?: string, overrides: RecipeOverrides = {}) {
  return compileTraining(imported, {
    batch: 2,
    seq: 4,
    head: "classification:2",
    lr: 1e-3,
    totalSteps: 10,
    recipe: recipe === undefined ? undefined : parseRecipe(recipe, overrides),
  });
}

/** Lines of `graph`'s text defining nodes of operator `op`. */
function nodesOf(graph: Graph, op: string): string[] {
  return printGraph(graph).split("\n").filter((l) => l.includes(`= ${op}(`));
}

const WEIGHTED = [
  "/bert/encoder/layer.0/attention/self/query/MatMul",
  "/bert/encoder/layer.0/attention/self/key/MatMul",
  "/bert/encoder/layer.0/attention/self/value/MatMul",
  "/bert/encoder/layer.0/attention/output/dense/MatMul",
  "/bert/encoder/layer.0/intermediate/dense/MatMul",
  "/bert/encoder/layer.0/output/dense/MatMul",
  "/bert/pooler/dense/MatMul",
  "/classifier/Gemm",
];

Deno.test("on BERT, int8 maps every weighted product's operands in both passes and nothing else", () => {
  const program = compile("int8");
  verify(program.step, { requireTypes: true, requireStatic: true });
  const maps = nodesOf(program.step, "BfpQuantize").join("\n");
  for (const layer of WEIGHTED) {
    assert.ok(maps.includes(`@${layer}/quantize_b`), layer);
    assert.ok(maps.includes(`@"${layer}@grad/quantize_dy"`), layer);
  }
  // Q, K and V read one LayerNorm output: it is mapped once.
  assert.equal(nodesOf(program.step, "BfpQuantize").length, 8 + 6 + 8);
  assert.doesNotMatch(maps, /self\/MatMul/, "attention products stay f32");
  // Bias gradients are column sums of the f32 dY.
  for (const line of nodesOf(program.step, "ReduceSum")) {
    assert.doesNotMatch(line, /quantize/, line);
  }
  const withAttention = compile("int8", { attentionInt: true });
  assert.equal(nodesOf(withAttention.step, "BfpQuantize").length, 22 + 4 + 2);
  // Evaluation rounds to nearest and needs no seed.
  assert.match(
    nodesOf(program.evaluation, "BfpQuantize")[0],
    /rounding="nearest"/,
  );
  assert.doesNotMatch(printGraph(program.evaluation), /BfpQuantize\([^)]*step/);
  assert.equal(printGraph(program.forward), printGraph(compile().forward));
});

Deno.test("on BERT, fp32 compiles to the graphs it compiled to before recipes", () => {
  const plain = compile();
  const fp32 = compile("fp32");
  assert.equal(printGraph(fp32.step), printGraph(plain.step));
  assert.equal(fp32.evaluation, fp32.forward);
});

Deno.test("fine-tuning the tiny set with int8-a2 on the reference trainer lowers the loss, reproducibly", async () => {
  const { tokenizer, train, dev } = await tinySet(320, 40);
  const options = tinyOptions({
    epochs: 4,
    seed: 5,
    recipe: parseRecipe("int8-a2", { gamma: 5, rounding: "stochastic" }),
    backend: "reference",
  });
  const result = await fineTune(imported, train, dev, tokenizer, options);
  assert.match(printGraph(result.program.step), /= OutlierTile\(/);
  const first = result.history[0].trainLoss;
  const last = result.history[3].trainLoss;
  // Measured: 0.6957 → 0.5156, dev accuracy 0.95.
  assert.ok(last < first * 0.85, `train loss ${first} → ${last}`);
  assert.ok(result.history[3].dev.accuracy > 0.7);
  const again = await fineTune(imported, train, dev, tokenizer, options);
  assert.deepEqual(again.losses, result.losses);
  // The engine (the default backend) runs the recipe on its integer kernels:
  // the first epoch's losses agree within the f32 rounding of the float layers.
  const engine = await fineTune(imported, train, dev, tokenizer, {
    ...options,
    backend: undefined,
  });
  engine.losses.slice(0, 20).forEach((loss, i) =>
    assert.ok(
      Math.abs(loss - result.losses[i]) <= 1e-4 * result.losses[i],
      `step ${i + 1}: ${loss} vs ${result.losses[i]}`,
    )
  );
  assert.ok(engine.history[3].trainLoss < first * 0.85);
});
