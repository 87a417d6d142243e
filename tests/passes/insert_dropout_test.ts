import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { type Graph, withParts } from "../../src/ir/graph.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { attachHead } from "../../src/passes/attach_head.ts";
import {
  DropoutError,
  dropoutSites,
  insertDropout,
} from "../../src/passes/insert_dropout.ts";
import { STEP_INPUT } from "../../src/passes/optimizer.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import {
  compileTraining,
  weightNames,
} from "../../src/passes/training_pipeline.ts";
import { tinyModel } from "../finetune/tiny.ts";
import { SHARED } from "../models/model_inputs.ts";

const SHAPES = { batch: 2, seq: 8, dims: {} };

/** The fused forward graph of `imported`, its weights kept as constants. */
function fused(imported: Graph): Graph {
  return runPipeline(imported, { ...SHAPES, preserve: weightNames(imported) });
}

/** A one-layer BERT with a classification head: the graph dropout goes on. */
const HEADED = attachHead(fused(tinyModel(2)), "classification:2").graph;

/** How many dropout sites of each kind `graph` has. */
function kinds(graph: Graph): Record<string, number> {
  const count: Record<string, number> = {};
  for (const s of dropoutSites(graph)) count[s.kind] = (count[s.kind] ?? 0) + 1;
  return count;
}

Deno.test("dropout sites: HF BERT's, on torch.onnx (opset 17) and keras2onnx exports", () => {
  // bert-tiny-random: 2 layers, BertForSequenceClassification, biases tied
  // through Identity by the exporter.
  const tiny = fused(
    importOnnxFile(`${SHARED}models/bert-tiny-random/model.onnx`).graph,
  );
  assert.deepEqual(kinds(tiny), {
    embeddings: 1,
    attention: 2,
    residual: 4,
    pooled: 1,
  });
  // keras2onnx: 12 layers whose denses are Reshape(MatMul(Reshape(x), W)).
  const keras = fused(
    importOnnxFile(
      `${SHARED}models/hf-export-fixtures/ort-tfbert-mrpc-keras2onnx-opset10.onnx`,
    ).graph,
  );
  assert.deepEqual(kinds(keras), {
    embeddings: 1,
    attention: 12,
    residual: 24,
    pooled: 1,
  });
  // Each residual site is the dense operand of the Add before a LayerNorm.
  for (const site of dropoutSites(tiny).filter((s) => s.kind === "residual")) {
    assert.equal(site.readers.length, 1);
    assert.equal(site.readers[0].op, "Add");
    assert.match(site.value, /dense\/Add_output_0$/);
  }
});

Deno.test("insert-dropout rewires each site's readers and seeds by step", () => {
  const graph = insertDropout(HEADED, { hidden: 0.1, attention: 0.2 });
  verify(graph);
  const dropouts = graph.nodes.filter((n) => n.op === "DropoutTrain");
  assert.deepEqual(
    dropouts.map((n) => n.attrs.ratio.value),
    [0.1, 0.2, 0.1, 0.1, 0.1],
  );
  assert.ok(dropouts.every((n) => n.inputs[1] === STEP_INPUT));
  assert.deepEqual(graph.types.get(STEP_INPUT), { dtype: "i64", shape: [] });
  // Distinct streams: sites of one step draw independent masks.
  assert.equal(new Set(dropouts.map((n) => n.attrs.stream.value)).size, 5);
  // Nothing reads a dropped-out site value any more but its DropoutTrain.
  for (const d of dropouts) {
    const readers = graph.nodes.filter((n) => n.inputs.includes(d.inputs[0]));
    assert.deepEqual(readers, [d]);
  }
  const classifier = graph.nodes.find((n) => n.op === "Gemm")!;
  assert.equal(classifier.inputs[0], "pooler_output/dropout");
});

Deno.test("insert-dropout: p = 0 changes nothing, one probability alone, bad values", () => {
  assert.equal(insertDropout(HEADED, { hidden: 0, attention: 0 }), HEADED);
  const attention = insertDropout(HEADED, { hidden: 0, attention: 0.1 });
  assert.deepEqual(
    attention.nodes.filter((n) => n.op === "DropoutTrain").map((n) =>
      n.inputs[0]
    ),
    ["/bert/encoder/layer.0/attention/self/Softmax_output_0"],
  );
  for (const p of [1, -0.1, NaN]) {
    assert.throws(
      () => insertDropout(HEADED, { hidden: p, attention: 0 }),
      (e) => e instanceof DropoutError && /not in \[0, 1\)/.test(e.message),
    );
  }
  const wrongStep = withParts(HEADED, {
    inputs: [...HEADED.inputs, STEP_INPUT],
    types: [...HEADED.types, [STEP_INPUT, { dtype: "f32", shape: [] }]],
  });
  assert.throws(
    () => insertDropout(wrongStep, { hidden: 0.1, attention: 0.1 }),
    /input 'step' must be an i64 scalar/,
  );
});

/** The feeds of one batch of the tiny model at step `step`. */
function feedsAt(step: number): Map<string, Tensor> {
  return new Map([
    [
      "input_ids",
      tensor("i64", [2, 8], [
        2,
        9,
        14,
        30,
        3,
        0,
        0,
        0,
        2,
        7,
        21,
        5,
        3,
        8,
        3,
        0,
      ]),
    ],
    [
      "attention_mask",
      tensor(
        "i64",
        [2, 8],
        [1, 1, 1, 1, 1, 0, 0, 0].concat(
          [1, 1, 1, 1, 1, 1, 1, 0],
        ),
      ),
    ],
    ["token_type_ids", tensor("i64", [2, 8], Array(16).fill(0))],
    ["labels", tensor("i64", [2], [0, 1])],
    [STEP_INPUT, tensor("i64", [], [step])],
  ]);
}

/** The masks of every site of `graph` at `step`. */
function masksAt(graph: Graph, step: number): Tensor[] {
  const names = graph.nodes.filter((n) => n.op === "DropoutTrain").map((n) =>
    n.outputs[1]
  );
  const values = execute(graph, feedsAt(step), names);
  return names.map((m) => values.get(m)!);
}

Deno.test("dropout masks: same seed and step → same, other step or seed → other", () => {
  const options = { hidden: 0.1, attention: 0.1, seed: 3 };
  const graph = insertDropout(HEADED, options);
  const first = masksAt(graph, 7);
  // Recompiled and rerun: the same bits, as a resumed run needs.
  assert.deepEqual(masksAt(insertDropout(HEADED, options), 7), first);
  const data = (ms: Tensor[]) => ms.map((m) => Array.from(m.data));
  assert.notDeepEqual(data(masksAt(graph, 8)), data(first));
  const otherSeed = insertDropout(HEADED, { ...options, seed: 4 });
  assert.notDeepEqual(data(masksAt(otherSeed, 7)), data(first));
  // The two residual sites have one shape but draw different masks.
  assert.notDeepEqual(Array.from(first[2].data), Array.from(first[3].data));
  // About 1 − p of all elements are kept.
  const all = data(first).flat();
  const kept = all.filter((k) => k === 1).length / all.length;
  assert.ok(kept > 0.85 && kept < 0.95, `kept ${kept}`);
});

Deno.test("compileTraining: dropout in the step only, sharing the optimizer's step", () => {
  const options = {
    ...SHAPES,
    head: "classification:2",
    seed: 1,
    lr: 1e-3,
    totalSteps: 4,
  };
  const imported = tinyModel(2);
  const plain = compileTraining(imported, options);
  const off = compileTraining(imported, {
    ...options,
    dropout: { hidden: 0, attention: 0 },
  });
  assert.equal(printGraph(off.step), printGraph(plain.step));
  const on = compileTraining(imported, {
    ...options,
    dropout: { hidden: 0.1, attention: 0.1 },
  });
  const count = (g: Graph, op: string) =>
    g.nodes.filter((n) => n.op === op).length;
  assert.equal(count(on.step, "DropoutTrain"), 5);
  assert.equal(count(on.step, "DropoutGrad"), 5);
  for (const g of [on.forward, on.evaluation]) {
    assert.equal(count(g, "DropoutTrain"), 0);
    assert.ok(!g.inputs.includes(STEP_INPUT));
  }
  // The step is one input, where the optimizer puts it without dropout.
  assert.deepEqual(on.step.inputs, plain.step.inputs);
});
