/**
 * A gamma-migrated BERT is an ordinary graph to fine-tune: it compiles for
 * training, the residual γ, the migrated LayerNorm bias and the migrated
 * weights are trainable parameters (without weight decay where the
 * LayerNorm's own γ had none), its loss equals the unmigrated model's, and
 * the gradients of the new parameters match central differences.
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { type Graph, withParts } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { migrateGamma } from "../../src/passes/gamma_migration.ts";
import { HF_NO_DECAY } from "../../src/passes/optimizer.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import {
  compileTraining,
  weightNames,
} from "../../src/passes/training_pipeline.ts";
import { tinyModel } from "../finetune/tiny.ts";
import { rng } from "../ir/random_graph.ts";

const BATCH = 2;
const SEQ = 8;

/** The tiny BERT with γ and β away from their 1 and 0 initial values, so migration changes numbers. */
function tinyWithNorms(): Graph {
  const imported = tinyModel(3);
  const next = rng(11);
  const constants = new Map(imported.constants);
  for (const [name, t] of imported.constants) {
    if (!/LayerNorm\.(weight|bias)$/.test(name)) continue;
    const draw = name.endsWith("weight")
      ? () => 0.5 + 2 * next()
      : () => next() - 0.5;
    constants.set(name, tensor(t.dtype, t.shape, Array.from(t.data, draw)));
  }
  return withParts(imported, { constants });
}

const imported = tinyWithNorms();
const fused = runPipeline(imported, {
  batch: BATCH,
  seq: SEQ,
  dims: {},
  preserve: weightNames(imported),
}, FORWARD_PIPELINE);
const migration = migrateGamma(fused);
const OPTIONS = {
  batch: BATCH,
  seq: SEQ,
  head: "classification:2",
  seed: 1,
  lr: 1e-3,
  totalSteps: 10,
};
const plain = compileTraining(imported, OPTIONS);
const program = compileTraining(migration.graph, OPTIONS);

const FEEDS = new Map<string, Tensor>([
  [
    "input_ids",
    tensor("i64", [BATCH, SEQ], [
      2,
      7,
      9,
      30,
      12,
      3,
      0,
      0,
      2,
      41,
      5,
      17,
      8,
      22,
      6,
      3,
    ]),
  ],
  [
    "attention_mask",
    tensor("i64", [BATCH, SEQ], [
      1,
      1,
      1,
      1,
      1,
      1,
      0,
      0,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
    ]),
  ],
  [
    "token_type_ids",
    tensor("i64", [BATCH, SEQ], new Array(BATCH * SEQ).fill(0)),
  ],
  ["labels", tensor("i64", [BATCH], [1, 0])],
]);

/** The loss of `graph` with constant `name` element `i` moved by `delta`. */
function lossWith(graph: Graph, name: string, i: number, delta: number) {
  const t = graph.constants.get(name)!;
  const data = Array.from(t.data);
  data[i] += delta;
  const constants = new Map(graph.constants);
  constants.set(name, tensor(t.dtype, t.shape, data));
  return execute(withParts(graph, { constants }), FEEDS).get("loss")!.data[0];
}

Deno.test("a gamma-migrated BERT compiles for training with γ as trainable parameters", () => {
  assert.equal(migration.migrated.length, 2, "embedding and attention LNs");
  assert.deepEqual(program.labels, ["labels"]);
  for (const m of migration.migrated) {
    assert.ok(program.params.includes(m.residualScale), m.residualScale);
    assert.ok(HF_NO_DECAY.test(m.residualScale), "no decay, like γ");
    // The step graph updates it with AdamW.
    assert.ok(
      program.step.nodes.some((n) =>
        n.op === "AdamW" && n.inputs[0] === m.residualScale
      ),
    );
  }
  assert.ok(program.params.includes("bert.embeddings.LayerNorm.bias.migrated"));
  // FFN1's weight keeps its name, trains, and holds diag(γ)·W.
  const ffn1 = "bert.encoder.layer.0.intermediate.dense.weight";
  assert.ok(program.params.includes(ffn1));
  const gamma = fused.constants.get(
    "bert.encoder.layer.0.attention.output.LayerNorm.weight",
  )!;
  const [w, w2] = [plain, program].map((p) => p.forward.constants.get(ffn1)!);
  const cols = w.shape[1];
  w.data.forEach((v, i) => {
    const want = Math.fround(v * gamma.data[Math.floor(i / cols)]);
    assert.equal(w2.data[i], want, `${ffn1}[${i}]`);
  });
  // One residual scale more per migrated LayerNorm; nothing else added or lost.
  assert.equal(
    program.params.length,
    plain.params.length + migration.migrated.length,
  );
});

Deno.test("a gamma-migrated BERT has the same loss and logits as the original", () => {
  const a = execute(plain.forward, FEEDS);
  const b = execute(program.forward, FEEDS);
  for (const name of ["loss", "logits"]) {
    const x = a.get(name)!.data;
    const y = b.get(name)!.data;
    x.forEach((v, i) => {
      assert.ok(Math.abs(v - y[i]) <= 1e-5 * Math.max(1, Math.abs(v)), name);
    });
  }
});

Deno.test("gradients of the residual γ and migrated bias match central differences", () => {
  const grads = execute(program.gradients, FEEDS);
  const h = 1e-2;
  const checked = [
    migration.migrated[0].residualScale,
    migration.migrated[1].residualScale,
    "bert.embeddings.LayerNorm.bias.migrated",
  ];
  for (const name of checked) {
    const g = grads.get(`${name}@grad`)!;
    for (const i of [0, 5, 17]) {
      const fd = (lossWith(program.forward, name, i, h) -
        lossWith(program.forward, name, i, -h)) / (2 * h);
      assert.ok(
        Math.abs(fd - g.data[i]) <= 2e-3 * Math.abs(g.data[i]) + 2e-5,
        `${name}[${i}]: autodiff ${g.data[i]}, central difference ${fd}`,
      );
    }
  }
});
