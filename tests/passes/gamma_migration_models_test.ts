/**
 * Gamma migration on every model under shared/models: every LayerNorm that
 * starts a post-LN block migrates, only the last one (which feeds the head)
 * stays, and the f32 outputs on real sentences are unchanged within 1e-5
 * relative (∞-norm, as the ONNX Runtime match measures). Random-init
 * fixtures have γ ≡ 1 and β ≡ 0, where migration changes no number, so each
 * model also runs with its LayerNorms given random γ and β.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import { execute } from "../../src/executor/execute.ts";
import { type Graph, withParts } from "../../src/ir/graph.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { migrateGamma } from "../../src/passes/gamma_migration.ts";
import { rng } from "../ir/random_graph.ts";
import { findModels, SHARED } from "../models/model_inputs.ts";
import { fusedModel, outputChanges } from "./rewrite_checks.ts";

const NO_SHORTCUT = /^no residual Add|^it is a graph output$/;

/** `graph` with every LayerNorm's γ drawn from ±[0.25, 4] and β from [−1, 1]. */
function randomNorms(graph: Graph, seed: number): Graph {
  const next = rng(seed);
  const constants = new Map(graph.constants);
  const draw = (name: string, f: () => number) => {
    const t = constants.get(name)!;
    constants.set(name, tensor(t.dtype, t.shape, Array.from(t.data, f)));
  };
  for (const n of graph.nodes.filter((n) => n.op === "LayerNorm")) {
    draw(n.inputs[1], () => (next() < 0.2 ? -1 : 1) * 4 ** (2 * next() - 1));
    draw(n.inputs[2], () => 2 * next() - 1);
  }
  return withParts(graph, { constants });
}

for (const model of findModels()) {
  const name = relative(SHARED, model);
  Deno.test(`gamma migration keeps ${name}'s f32 outputs`, async () => {
    const { fused, feeds } = await fusedModel(model);
    const { graph: migrated, migrated: done, skipped } = migrateGamma(fused);
    verify(migrated, { requireTypes: true, requireStatic: true });
    const norms = fused.nodes.filter((n) => n.op === "LayerNorm").length;
    assert.equal(done.length + skipped.length, norms);
    // One shortcut-less LN per model, two with BERT's pretraining MLM head.
    assert.ok(skipped.length >= 1 && skipped.length <= 2, `${skipped.length}`);
    for (const s of skipped) assert.match(s.reason, NO_SHORTCUT, s.layerNorm);
    for (const m of done) assert.ok(m.linears.length >= 1, m.layerNorm);

    for (const g of [fused, randomNorms(fused, 7)]) {
      const before = execute(g, feeds);
      const after = execute(migrateGamma(g).graph, feeds);
      for (const [output, rel] of outputChanges(before, after)) {
        assert.ok(rel <= 1e-5, `${output}: relative change ${rel}`);
      }
    }
  });
}
