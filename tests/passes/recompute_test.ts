/**
 * The `recompute` pass: before/after IR on a synthetic step, and on a whole
 * BERT training step the engine gives bit-identical losses, gradients and
 * updated weights with and without it, while the activations saved for the
 * backward shrink by exactly the GELU and softmax inputs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { makeGraph, makeNode } from "../../src/ir/graph.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import {
  parseRecompute,
  recompute,
  type RecomputeTarget,
} from "../../src/passes/recompute.ts";
import { compileTraining } from "../../src/passes/training_pipeline.ts";
import { parseRecipe } from "../../src/recipes/mod.ts";
import { initialTrainingState } from "../../src/training/state.ts";
import { savedActivationBytes } from "../../bench/saved_bytes.ts";
import { TINY_CONFIG, tinyModel } from "../finetune/tiny.ts";

/** x → `op`(x, c) → Gelu, and GeluGrad reading the Gelu input. */
function geluStep(op: string) {
  const type = { dtype: "f32" as const, shape: [2, 3] };
  return makeGraph({
    name: "step",
    inputs: ["x", "dy"],
    outputs: ["y", "dx"],
    constants: [["c", tensor("f32", [3], [1, 2, 3])]],
    nodes: [
      makeNode(op, "dense/Add", op === "Add" ? ["x", "c"] : ["x"], ["t"]),
      makeNode("Gelu", "gelu", ["t"], ["y"]),
      makeNode("GeluGrad", "gelu@grad/GeluGrad", ["dy", "t"], ["dx"]),
    ],
    types: [["x", type], ["dy", type], ["t", type], ["y", type], ["dx", type]],
  });
}

Deno.test("recompute: before/after IR, and a chain it cannot clone is left alone", () => {
  const before = geluStep("Add");
  assert.match(printGraph(before), /GeluGrad\(dy, t\)/);
  const after = printGraph(recompute(before, ["gelu"]));
  assert.match(
    after,
    /%"t@recompute": f32\[2,3\] = Add\(x, c\) @"dense\/Add@grad\/recompute"\n.*= GeluGrad\(dy, "t@recompute"\)/,
  );
  // Tanh is not a clonable operator: nothing changes.
  const tanh = geluStep("Tanh");
  assert.equal(printGraph(recompute(tanh, ["gelu"])), printGraph(tanh));
  assert.deepEqual(parseRecompute("gelu, softmax"), ["gelu", "softmax"]);
  assert.deepEqual(parseRecompute("none"), []);
  assert.throws(
    () => parseRecompute("gelu,layernorm"),
    /Unknown recompute target 'layernorm'/,
  );
});

const [BATCH, SEQ] = [2, 8];

/** One step of the tiny BERT under `recipe`; its outputs and saved bytes. */
async function stepOf(
  recipe: string,
  targets: RecomputeTarget[],
  attentionInt: boolean,
) {
  const program = compileTraining(tinyModel(3), {
    batch: BATCH,
    seq: SEQ,
    head: "classification:2",
    lr: 1e-3,
    totalSteps: 10,
    recipe: parseRecipe(recipe, { attentionInt: attentionInt || undefined }),
    recompute: targets,
  });
  const state = initialTrainingState(program.gradients, 1, program.params);
  const ids = Array.from({ length: BATCH * SEQ }, (_, i) => (i * 7 + 3) % 44);
  const feeds = new Map<string, Tensor>([
    ["input_ids", tensor("i64", [BATCH, SEQ], ids)],
    [
      "attention_mask",
      tensor("i64", [BATCH, SEQ], ids.map((_, i) => i % SEQ < 6 ? 1 : 0)),
    ],
    ["token_type_ids", tensor("i64", [BATCH, SEQ], ids.map(() => 0))],
    [program.labels[0], tensor("i64", [BATCH], [1, 0])],
    ["step", tensor("i64", [], [0])],
  ]);
  using engine = await Engine.create(program.step, { resident: state.tensors });
  assert.deepEqual(engine.fallbacks(), []);
  return {
    graph: program.step,
    outputs: engine.run(feeds),
    saved: savedActivationBytes(engine.graph),
  };
}

for (
  const [recipe, attentionInt] of [["fp32", false], ["int8", true], [
    "int8-a2",
    false,
  ]] as const
) {
  Deno.test(`recompute on a ${recipe}${attentionInt ? " (integer attention)" : ""} step: bit-identical, GELU and softmax inputs no longer saved`, async () => {
    const plain = await stepOf(recipe, [], attentionInt);
    const lean = await stepOf(recipe, ["gelu", "softmax"], attentionInt);
    const clones = lean.graph.nodes.filter((n) =>
      n.name.endsWith("@grad/recompute")
    );
    const layers = TINY_CONFIG.num_hidden_layers;
    const heads = TINY_CONFIG.num_attention_heads;
    const intermediate = TINY_CONFIG.intermediate_size;
    // Per layer: FFN1's product and bias; Q·Kᵀ, its scaling, mask and softmax.
    assert.equal(clones.filter((n) => n.op === "Softmax").length, layers);
    assert.ok(clones.filter((n) => n.op === "MatMul").length >= 2 * layers);
    assert.equal(plain.outputs.size, lean.outputs.size);
    for (const [name, t] of plain.outputs) {
      assert.deepEqual(lean.outputs.get(name)!.data, t.data, name);
    }
    const gelu = BATCH * SEQ * intermediate * 4;
    const softmax = BATCH * heads * SEQ * SEQ * 4;
    assert.equal(plain.saved - lean.saved, layers * (gelu + softmax));
  });
}
