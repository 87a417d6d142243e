/**
 * LLM.int8() in engine ops (src/ptq/llm_int8_graph.ts) against the
 * reference `LlmInt8MatMul`, on bert-tiny-random with thresholds that put
 * no, some and every hidden dim in the f32 path.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { llmInt8 } from "../../src/passes/llm_int8.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { columnCodes, decomposeLlmInt8 } from "../../src/ptq/llm_int8_graph.ts";

const MODEL = "../shared/models/bert-tiny-random/model.onnx";

function feeds(batch: number, seq: number) {
  const ids = Array.from(
    { length: batch * seq },
    (_, i) => 1000 + ((i * 7919) % 20000),
  );
  return new Map([
    ["input_ids", tensor("i64", [batch, seq], ids)],
    [
      "attention_mask",
      tensor("i64", [batch, seq], ids.map((_, i) => i % seq < seq - 3 ? 1 : 0)),
    ],
    ["token_type_ids", tensor("i64", [batch, seq], ids.map(() => 0))],
  ]);
}

Deno.test("column codes: |q| ≤ 127, each column's max at ±127", () => {
  const w = tensor("f32", [3, 2], [0.5, -2, -1, 1, 0.25, 0]);
  const { codes, scales } = columnCodes(w);
  assert.deepEqual(Array.from(scales), [1 / 127, 2 / 127].map(Math.fround));
  assert.deepEqual(Array.from(codes), [64, -127, -127, 64, 32, 0]);
});

Deno.test("decomposed LLM.int8() = the reference operator on bert-tiny", () => {
  const compiled = runPipeline(importOnnxFile(MODEL).graph, {
    batch: 2,
    seq: 12,
    dims: {},
  });
  const f = feeds(2, 12);
  const want32 = execute(compiled, f).get("logits")!.data;
  for (const threshold of [1e9, 2, 0]) {
    const reference = llmInt8(compiled, { threshold }).graph;
    const decomposed = decomposeLlmInt8(reference);
    assert.ok(!decomposed.nodes.some((n) => n.op === "LlmInt8MatMul"));
    const want = execute(reference, f).get("logits")!.data;
    const got = execute(decomposed, f).get("logits")!.data;
    const scale = Math.max(...Array.from(want, Math.abs));
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(got[i] - want[i]) <= 1e-4 * scale,
        `threshold ${threshold}: ${got[i]} vs ${want[i]}`,
      );
    }
    if (threshold === 0) {
      // Every dim an outlier dim: the f32 product.
      for (let i = 0; i < want.length; i++) {
        assert.ok(Math.abs(got[i] - want32[i]) <= 1e-5 * scale);
      }
    }
  }
});
