/**
 * Print → parse → print is identical for every model in shared/models,
 * after import and after every pass; the compiled BERT graphs have no shape
 * computations left and one LayerNorm/Gelu per decomposed subgraph.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { FORWARD_PIPELINE, runPipeline } from "../../src/passes/pipeline.ts";
import { findModels, inputSizes, SHARED } from "./model_inputs.ts";

function assertRoundTrip(graph: Graph, stage: string): void {
  const text = printGraph(graph);
  const back = parseGraph(text, {
    weights: (name) => graph.constants.get(name),
  });
  assert.equal(
    printGraph(back),
    text,
    `print → parse → print differs after ${stage}`,
  );
}

/** Operand positions that hold shapes, axes or bounds rather than data. */
const SHAPE_OPERANDS: Record<string, number[]> = {
  Reshape: [1],
  Expand: [1],
  Unsqueeze: [1],
  Squeeze: [1],
  Slice: [1, 2, 3, 4],
  Split: [1],
  ConstantOfShape: [0],
  Range: [0, 1, 2],
  ReduceMean: [1],
  ReduceSum: [1],
};

for (const model of findModels()) {
  const name = relative(SHARED, model);
  Deno.test(`${name}: IR dumps read back after every pass`, async () => {
    const { graph } = await importOnnxFile(model);
    assertRoundTrip(graph, "import");
    const compiled = runPipeline(
      graph,
      { ...inputSizes(model, graph), dims: {} },
      FORWARD_PIPELINE,
      (_, pass, g) => {
        assertRoundTrip(g, pass.name);
      },
    );
    // Every exporter's LayerNorm and GELU decompositions are recognised.
    for (const op of ["Erf", "ReduceMean", "Sqrt"]) {
      assert.ok(
        !compiled.nodes.some((n) => n.op === op),
        `an unfused ${op} is left`,
      );
    }
    // Once shapes are static no shape is computed at run time: no Shape
    // node, and every shape/axes operand is a constant.
    for (const node of compiled.nodes) {
      assert.notEqual(node.op, "Shape", `Shape node left: ${node.name}`);
      for (const i of SHAPE_OPERANDS[node.op] ?? []) {
        const operand = node.inputs[i];
        if (operand === undefined || operand === "") continue;
        assert.ok(
          compiled.constants.has(operand),
          `${node.op} ${node.name} computes its operand ${i} at run time`,
        );
      }
    }
  });
}

Deno.test("BERT-mini compiles to one LayerNorm per decomposition and one Gelu per layer", async () => {
  const { graph } = await importOnnxFile(
    `${SHARED}models/tessera-bert-mini/encoder.onnx`,
  );
  const compiled = runPipeline(graph, { batch: 2, seq: 16, dims: {} });
  const count = (op: string) =>
    compiled.nodes.filter((n) => n.op === op).length;
  assert.equal(count("LayerNorm"), 1 + 2 * 4);
  assert.equal(count("Gelu"), 4);
  assert.equal(count("Erf"), 0);
  assert.equal(count("ReduceMean"), 0);
  assert.equal(count("MatMul") + count("Gemm"), 4 * 8 + 1);
});
