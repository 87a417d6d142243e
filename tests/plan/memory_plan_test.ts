import assert from "node:assert/strict";
import { join } from "node:path";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { makeGraph, makeNode } from "../../src/ir/graph.ts";
import {
  type MemoryPlan,
  MemoryPlanError,
  planMemory,
} from "../../src/plan/memory_plan.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { findModels, SHARED } from "../models/model_inputs.ts";

/** No two values alive at the same time share a byte, and everything fits the arena. */
function assertSound(plan: MemoryPlan, alignment: number): void {
  const all = [...plan.placements];
  for (const [name, p] of all) {
    assert.equal(p.offset % alignment, 0, `${name} is misaligned`);
    assert.ok(
      p.offset + p.bytes <= plan.arenaBytes,
      `${name} overflows the arena`,
    );
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const [a, pa] = all[i];
      const [b, pb] = all[j];
      const together = pa.first <= pb.last && pb.first <= pa.last;
      const overlap = pa.offset < pb.offset + pb.bytes &&
        pb.offset < pa.offset + pa.bytes;
      assert.ok(
        !(together && overlap),
        `${a} and ${b} are alive together and overlap`,
      );
    }
  }
  assert.ok(plan.arenaBytes >= plan.peakLiveBytes);
}

Deno.test("a chain reuses memory once a value is dead", () => {
  const type = { dtype: "f32" as const, shape: [4, 4] };
  const graph = makeGraph({
    name: "chain",
    inputs: ["x"],
    outputs: ["d"],
    constants: [],
    nodes: [
      makeNode("Relu", "r1", ["x"], ["a"]),
      makeNode("Relu", "r2", ["a"], ["b"]),
      makeNode("Relu", "r3", ["b"], ["c"]),
      makeNode("Relu", "r4", ["c"], ["d"]),
    ],
    types: ["x", "a", "b", "c", "d"].map((n) => [n, type]),
  });
  const plan = planMemory(graph);
  assertSound(plan, 16);
  // x (an input) lives only until r1; at most two 64-byte values are ever alive.
  assert.equal(plan.peakLiveBytes, 128);
  assert.equal(plan.arenaBytes, 128);
  assert.equal(
    plan.placements.get("a")!.offset,
    plan.placements.get("c")!.offset,
  );
});

Deno.test("values without a static type are refused clearly", () => {
  const graph = makeGraph({
    name: "g",
    inputs: ["x"],
    outputs: ["y"],
    constants: [],
    nodes: [makeNode("Relu", "r", ["x"], ["y"])],
    types: [["x", { dtype: "f32", shape: ["batch", 4] }]],
  });
  assert.throws(() => planMemory(graph), MemoryPlanError);
  assert.throws(() => planMemory(graph), /'x'.*not static/);
});

Deno.test("every shared model plans soundly and packs within 1.5× of the live peak", () => {
  for (const model of findModels()) {
    const { graph } = importOnnxFile(model);
    const compiled = runPipeline(graph, { batch: 2, seq: 7, dims: {} });
    const plan = planMemory(compiled);
    assertSound(plan, 16);
    assert.ok(
      plan.arenaBytes <= 1.5 * plan.peakLiveBytes,
      `${model}: ${plan.arenaBytes} vs peak ${plan.peakLiveBytes}`,
    );
  }
});

Deno.test("BERT-mini at batch 8 × 128 needs a few MiB of activations, not the sum of all of them", () => {
  const { graph } = importOnnxFile(
    join(SHARED, "models/tessera-bert-mini/encoder.onnx"),
  );
  const compiled = runPipeline(graph, { batch: 8, seq: 128, dims: {} });
  const plan = planMemory(compiled);
  const total = [...plan.placements.values()].reduce((a, p) => a + p.bytes, 0);
  assert.ok(
    plan.arenaBytes < total / 10,
    `arena ${plan.arenaBytes} vs all values ${total}`,
  );
});
