/**
 * The engine's forward outputs on every shared model equal the reference
 * executor's within 1e-4 relative (∞-norm), and the memory it allocated is
 * the planned layout: one arena of exactly the planner's size.
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import {
  findModels,
  inputSizes,
  realFeeds,
  SHARED,
} from "../models/model_inputs.ts";
import { assertOneArena, relativeError } from "./helpers.ts";

for (const model of findModels()) {
  const name = model.slice(SHARED.length);
  Deno.test(`engine forward ≈ reference: ${name}`, async () => {
    const imported = importOnnxFile(model).graph;
    const graph = runPipeline(imported, {
      ...inputSizes(model, imported),
      dims: {},
    });
    const feeds = await realFeeds(model, imported);
    const engine = await Engine.create(graph);
    const want = execute(graph, feeds);
    const got = engine.run(feeds);
    for (const [output, t] of want) {
      const error = relativeError(got.get(output)!, t);
      assert.ok(
        error < 1e-4,
        `${output}: relative error ${error.toExponential(2)}`,
      );
    }
    // A second run on the same memory gives the same answer.
    const again = engine.run(feeds);
    for (const [output, t] of got) {
      assert.deepEqual(again.get(output)!.data, t.data);
    }
    assertOneArena(engine);
    assert.deepEqual(
      engine.fallbacks(),
      [],
      JSON.stringify(engine.fallbacks()),
    );
  });
}
