/**
 * Gamma migration on small hand-written post-LN blocks: what moves where,
 * what the guard keeps, what is skipped and why, and that every output is
 * unchanged. Whole models: `gamma_migration_models_test.ts`.
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { verify } from "../../src/ir/verify.ts";
import {
  gammaMigrationPass,
  migrateGamma,
} from "../../src/passes/gamma_migration.ts";
import {
  checkOrder,
  FORWARD_PIPELINE,
  PipelineOrderError,
} from "../../src/passes/pipeline.ts";
import { rng } from "../ir/random_graph.ts";
import { goldenBefore, uniformFeeds, worstChange } from "./rewrite_checks.ts";

const golden = goldenBefore("gamma-migration");

/** max|a − b| / max|b| over the outputs of both graphs (and `keep`). */
function maxRelativeChange(
  before: Graph,
  after: Graph,
  seed: number,
  keep: string[] = [],
): number {
  const feeds = uniformFeeds(before, rng(seed));
  return worstChange(
    execute(before, feeds, keep),
    execute(after, feeds, keep),
  );
}

Deno.test("gamma migration moves γ into the linears and shortcuts of post-LN blocks only", () => {
  const { graph, migrated, skipped } = migrateGamma(golden);
  verify(graph, { requireTypes: true, requireStatic: true });
  assert.deepEqual(migrated.map((m) => m.layerNorm), [
    "/embeddings/LayerNorm",
    "/layer.0/attention/output/LayerNorm",
  ]);
  assert.deepEqual(migrated[0].linears, [
    "/layer.0/attention/self/query/MatMul",
    "/layer.0/attention/self/key/MatMul",
  ]);
  // Reshape → Gemm(transB) is found through the row-flattening Reshape.
  assert.deepEqual(migrated[1].linears, ["/layer.0/intermediate/dense/Gemm"]);
  assert.deepEqual(migrated.map((m) => m.guarded), [1, 0]);
  assert.deepEqual(skipped, [{
    layerNorm: "/layer.0/output/LayerNorm",
    reason: "it is a graph output",
  }]);
  // wk is also read outside the block: that reader keeps the original.
  const other = graph.nodes.find((n) => n.name === "/other/MatMul")!;
  assert.deepEqual(other.inputs, ["x", "wk"]);
  assert.deepEqual([...graph.constants.get("wk")!.data], [
    ...golden.constants.get("wk")!.data,
  ]);
  // The original γ and β are gone; the migrated ones are 1 and β/γ.
  for (const gone of ["g0", "b0", "g1", "b1"]) {
    assert.ok(!graph.constants.has(gone), gone);
  }
  assert.deepEqual([...graph.constants.get("g1.migrated")!.data], [1, 1, 1, 1]);
  assert.deepEqual([...graph.constants.get("g1.residual")!.data], [
    1.5,
    1.25,
    0.75,
    3,
  ]);
});

Deno.test("gamma migration leaves every output and the residual sums unchanged", () => {
  const { graph } = migrateGamma(golden);
  const sums = ["r0", "r1", "q", "k", "f"];
  for (const seed of [1, 2, 3]) {
    const change = maxRelativeChange(golden, graph, seed, sums);
    assert.ok(change <= 1e-6, `relative change ${change}`);
  }
});

Deno.test("gamma migration shrinks a γ-amplified channel at the linear's input", () => {
  const { graph } = migrateGamma(golden);
  const ln = "/layer.0/attention/output/LayerNorm_output_0";
  const feeds = uniformFeeds(golden, rng(4));
  const channelMax = (g: Graph) => {
    const t = execute(g, feeds, [ln]).get(ln)!;
    return Math.max(...[...t.data].filter((_, i) => i % 4 === 3).map(Math.abs));
  };
  // Channel 3 has γ = 3 and β/γ = 0.3: |x̂| ≤ √3 bounds it by 2.04 after.
  assert.ok(channelMax(golden) > 3, `${channelMax(golden)}`);
  assert.ok(channelMax(graph) <= Math.sqrt(3) + 0.3 + 1e-6);
});

/** One post-LN block over x [2,3,4] with the given γ and β. */
function block(gamma: string, beta: string, extra = ""): Graph {
  return parseGraph(`graph block {
  input x: f32[2,3,4]
  const g: f32[4] = [${gamma}]
  const b: f32[4] = [${beta}]
  const w: f32[4,4] = [1.0, 0.0, 0.5, -1.0, 0.25, 1.0, 0.0, 2.0, -0.5, 0.75, 1.0, 0.0, 1.5, -0.25, 0.0, 1.0]
  %y: f32[2,3,4] = LayerNorm(x, g, b) {axis=-1, epsilon=1e-12} @/ln
  %h: f32[2,3,4] = MatMul(y, w) @/dense
  %r: f32[2,3,4] = Add(h, y) @/residual
  ${extra}
  output r
}`);
}

Deno.test("the guard keeps zero and tiny γ in the LayerNorm, exactly and without huge β/γ", () => {
  const before = block("1.0, 1e-8, 0.0, -2.0", "0.5, 1.0, 1.0, 0.25");
  const { graph, migrated } = migrateGamma(before);
  assert.equal(migrated[0].guarded, 2);
  for (const [name, t] of graph.constants) {
    assert.ok([...t.data].every(Number.isFinite), name);
  }
  assert.deepEqual([...graph.constants.get("g.migrated")!.data], [
    1,
    Math.fround(1e-8),
    0,
    1,
  ]);
  const y = execute(graph, uniformFeeds(graph, rng(5)), ["y"]).get("y")!;
  assert.ok(Math.max(...[...y.data].map(Math.abs)) < 3, "no β/γ blow-up");
  assert.ok(maxRelativeChange(before, graph, 5, ["y"]) > 0.1, "y changed");
  assert.ok(maxRelativeChange(before, graph, 5) <= 1e-6);
  // A larger guard keeps more channels.
  assert.equal(migrateGamma(before, 0.6).migrated[0].guarded, 3);
});

Deno.test("a LayerNorm read by anything but linears and shortcuts is skipped, untouched", () => {
  const before = block(
    "1.0, 2.0, 3.0, 4.0",
    "0.0, 0.0, 0.0, 0.0",
    "%z: f32[2,3,4] = Relu(y) @/act",
  );
  const { graph, migrated, skipped } = migrateGamma(before);
  assert.deepEqual(migrated, []);
  assert.deepEqual(skipped.map((s) => s.reason), [
    "Relu '/act' reads it and is neither a linear x·W nor a residual Add",
  ]);
  assert.deepEqual(graph.nodes, before.nodes);
  assert.deepEqual([...graph.constants.keys()], [...before.constants.keys()]);
});

Deno.test("gamma-migration runs after fuse-layer-norm in a pipeline", () => {
  checkOrder([...FORWARD_PIPELINE, gammaMigrationPass()]);
  assert.throws(
    () => checkOrder([gammaMigrationPass()]),
    PipelineOrderError,
  );
});
