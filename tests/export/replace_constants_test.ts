/**
 * Weight replacement: the checks on every update, and fine-tuned weights
 * reaching the exported model — a perturbed LayerNorm scale of BERT-mini
 * changes ONNX Runtime's outputs exactly as it changes the executor's.
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import {
  ConstantUpdateError,
  exportOnnx,
  replaceConstants,
} from "../../src/export/mod.ts";
import { importOnnx, importOnnxFile } from "../../src/frontend/import_model.ts";
import { makeGraph } from "../../src/ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../src/ir/tensor.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import { findModels, inputSizes, realFeeds } from "../models/model_inputs.ts";
import { relativeError, runOrt } from "./ort_run.ts";

const small = makeGraph({
  name: "small",
  inputs: [],
  outputs: ["w"],
  constants: [["w", tensor("f32", [2, 3])]],
  nodes: [],
  types: [],
});

function assertRefused(
  updates: [string, Tensor][],
  problem: string,
  message: RegExp,
): void {
  assert.throws(() => replaceConstants(small, new Map(updates)), (e) => {
    assert.ok(e instanceof ConstantUpdateError);
    assert.equal(e.problem, problem);
    assert.equal(e.constantName, updates.at(-1)![0]);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("replaceConstants refuses unknown names, other dtypes and other shapes", () => {
  const fits = tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6]);
  assertRefused(
    [["w", fits], ["v", fits]],
    "unknown-name",
    /'v'.*no such constant/,
  );
  assertRefused(
    [["w", tensor("f64", [2, 3])]],
    "dtype",
    /it is f32 and the update is f64/,
  );
  assertRefused(
    [["w", tensor("f32", [3, 2])]],
    "shape",
    /shape \[2,3\].*shape \[3,2\]/,
  );
  assertRefused([["w", tensor("f32", [6])]], "shape", /shape \[6\]/);
});

Deno.test("replaceConstants returns a new graph and leaves the old one alone", () => {
  const fits = tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6]);
  const updated = replaceConstants(small, new Map([["w", fits]]));
  assert.deepEqual(toNumbers(updated.constants.get("w")!), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(toNumbers(small.constants.get("w")!), [0, 0, 0, 0, 0, 0]);
  const back = importOnnx(exportOnnx(updated)).graph;
  assert.deepEqual(toNumbers(back.constants.get("w")!), [1, 2, 3, 4, 5, 6]);
});

Deno.test("a perturbed BERT-mini LayerNorm weight changes ORT's outputs as it changes the executor's", async () => {
  const model = findModels().find((m) => m.includes("tessera-bert-mini"))!;
  const { graph } = importOnnxFile(model);
  const feeds = await realFeeds(model, graph);
  const compiled = runPipeline(
    graph,
    { ...inputSizes(model, graph), dims: {} },
    FORWARD_PIPELINE,
  );
  const scale = compiled.nodes.findLast((n) => n.op === "LayerNorm")!
    .inputs[1];
  const old = compiled.constants.get(scale)!;
  const tuned = replaceConstants(
    compiled,
    new Map([[
      scale,
      tensor("f32", old.shape, toNumbers(old).map((v) => v + 0.01)),
    ]]),
  );
  const before = await runOrt(exportOnnx(compiled), feeds);
  const after = await runOrt(exportOnnx(tuned), feeds);
  const ours = execute(tuned, feeds);
  for (const name of compiled.outputs) {
    const moved = relativeError(ours.get(name)!, before[name]);
    assert.ok(moved > 1e-3, `${name} moved by only ${moved.toExponential(2)}`);
    const error = relativeError(ours.get(name)!, after[name]);
    assert.ok(error <= 1e-5, `${name}: ${error.toExponential(2)} > 1e-5`);
  }
});
