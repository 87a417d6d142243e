/**
 * Every model under shared/models, imported and compiled by the forward
 * pipeline, exports to ONNX that (a) onnxruntime-node runs with the
 * reference executor's outputs within 1e-5 relative error and (b) the
 * frontend imports back to a graph that prints identically. At opset 17,
 * where Gelu is written as its erf formula, the re-imported graph is the
 * decomposed one; the forward pipeline fuses it back to the same graph.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import onnx from "onnx-proto";
import { execute } from "../../src/executor/execute.ts";
import { exportOnnx } from "../../src/export/mod.ts";
import { importOnnx, importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import {
  findModels,
  inputSizes,
  realFeeds,
  SHARED,
} from "../models/model_inputs.ts";
import { relativeError, runOrt } from "./ort_run.ts";

/** Checks ORT on `bytes` against the executor on `graph`; returns the errors. */
async function assertOrtMatches(
  bytes: Uint8Array,
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor>,
): Promise<number[]> {
  const ours = execute(graph, feeds);
  const theirs = await runOrt(bytes, feeds);
  return graph.outputs.map((name) => {
    const error = relativeError(ours.get(name)!, theirs[name]);
    assert.ok(
      error <= 1e-5,
      `${name}: relative error ${error.toExponential(2)} > 1e-5`,
    );
    return error;
  });
}

function opCounts(bytes: Uint8Array): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of onnx.onnx.ModelProto.decode(bytes).graph!.node!) {
    counts.set(n.opType!, (counts.get(n.opType!) ?? 0) + 1);
  }
  return counts;
}

async function compiledModel(model: string) {
  const { graph } = importOnnxFile(model);
  const feeds = await realFeeds(model, graph);
  const compiled = runPipeline(
    graph,
    { ...inputSizes(model, graph), dims: {} },
    FORWARD_PIPELINE,
  );
  return { graph, feeds, compiled };
}

for (const model of findModels()) {
  const name = relative(SHARED, model);
  Deno.test(`${name} exports at opset 20, runs in ORT and re-imports the same`, async () => {
    const { feeds, compiled } = await compiledModel(model);
    const bytes = exportOnnx(compiled);
    await assertOrtMatches(bytes, compiled, feeds);
    const counts = opCounts(bytes);
    const gelus = compiled.nodes.filter((n) => n.op === "Gelu").length;
    assert.equal(counts.get("Gelu") ?? 0, gelus, "Gelu nodes stay fused");
    assert.equal(counts.get("LayerNorm"), undefined, "no IR-only op names");
    const back = importOnnx(bytes);
    assert.deepEqual(back.warnings, []);
    assert.equal(back.opset, 20);
    assert.equal(printGraph(back.graph), printGraph(compiled));
  });

  Deno.test(`${name} exports at opset 17 with Gelu decomposed, which the pipeline fuses back`, async () => {
    const { graph, feeds, compiled } = await compiledModel(model);
    const bytes = exportOnnx(compiled, { opset: 17 });
    await assertOrtMatches(bytes, compiled, feeds);
    const counts = opCounts(bytes);
    assert.equal(counts.get("Gelu"), undefined);
    assert.equal(
      counts.get("Erf") ?? 0,
      compiled.nodes.filter((n) => n.op === "Gelu" || n.op === "Erf").length,
    );
    const back = importOnnx(bytes).graph;
    const sizes = { ...inputSizes(model, graph), dims: {} };
    assert.equal(printGraph(runPipeline(back, sizes)), printGraph(compiled));
  });
}

/** The batch rows `rows` of every batched feed. */
function pickRows(
  feeds: ReadonlyMap<string, Tensor>,
  rows: readonly number[],
): Map<string, Tensor> {
  return new Map([...feeds].map(([name, t]) => {
    const width = t.data.length / t.shape[0];
    const values = rows.flatMap((r) =>
      Array.from(t.data.subarray(r * width, (r + 1) * width))
    );
    const shape = [rows.length, ...t.shape.slice(1)];
    return [name, tensor(t.dtype, shape, values)];
  }));
}

Deno.test("bert-tiny-random's symbolic graph exports and runs at two batch sizes", async () => {
  const model = findModels().find((m) => m.includes("bert-tiny-random"))!;
  const { graph } = importOnnxFile(model);
  const feeds = await realFeeds(model, graph);
  const bytes = exportOnnx(graph);
  const inputs = onnx.onnx.ModelProto.decode(bytes).graph!.input!;
  assert.ok(
    inputs.every((i) =>
      i.type!.tensorType!.shape!.dim!.every((d) => d.dimParam)
    ),
    "batch and sequence stay symbolic",
  );
  assert.equal(printGraph(importOnnx(bytes).graph), printGraph(graph));
  const seq = inputSizes(model, graph).seq;
  for (const rows of [[1], [0, 1, 0]]) {
    const batch = pickRows(feeds, rows);
    const compiled = runPipeline(graph, { batch: rows.length, seq, dims: {} });
    const errors = await assertOrtMatches(bytes, compiled, batch);
    assert.equal(errors.length, graph.outputs.length);
  }
});
