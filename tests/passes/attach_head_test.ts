import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import {
  attachHead,
  HeadError,
  parseHead,
} from "../../src/passes/attach_head.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { SHARED } from "../models/model_inputs.ts";
import { compareSamples } from "./autodiff_fd.ts";

const OPTIONS = { batch: 2, seq: 8, dims: {} };

const ENCODER = runPipeline(
  importOnnxFile(`${SHARED}models/tessera-bert-mini/encoder.onnx`).graph,
  OPTIONS,
);

/** Token feeds for batch 2, seq 8, plus whatever labels a head added. */
function feeds(labels: Record<string, Tensor>): Map<string, Tensor> {
  return new Map([
    [
      "input_ids",
      tensor("i64", [2, 8], [
        101,
        7592,
        2088,
        2003,
        102,
        0,
        0,
        0,
        101,
        2129,
        2024,
        2017,
        1029,
        102,
        2307,
        102,
      ]),
    ],
    [
      "attention_mask",
      tensor("i64", [2, 8], [1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]),
    ],
    [
      "token_type_ids",
      tensor("i64", [2, 8], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
    ],
    ...Object.entries(labels),
  ]);
}

Deno.test("parseHead reads the three heads and explains bad ones", () => {
  assert.deepEqual(parseHead("classification:3"), {
    kind: "classification",
    classes: 3,
  });
  assert.deepEqual(parseHead("regression"), { kind: "regression" });
  assert.deepEqual(parseHead("span"), { kind: "span" });
  for (
    const bad of [
      "classification:1",
      "classification",
      "classify:2",
      "Span",
      "",
    ]
  ) {
    assert.throws(() => parseHead(bad), HeadError);
  }
  assert.throws(() => parseHead("qa"), /classification:N .*regression or span/);
});

Deno.test("classification head: CE loss near ln N and every encoder weight trainable", () => {
  const headed = attachHead(ENCODER, "classification:3");
  verify(headed.graph, { requireStatic: true });
  assert.deepEqual(headed.graph.outputs, ["loss", "logits"]);
  assert.deepEqual(headed.labels, ["labels"]);
  const params = headed.params;
  assert.ok(
    params.includes("classifier.weight") && params.includes("classifier.bias"),
  );
  assert.ok(params.includes("bert.embeddings.word_embeddings.weight"));
  for (const p of params) {
    const t = headed.graph.constants.get(p)!;
    assert.ok(t.dtype === "f32" && t.data.length > 1, p);
  }
  const out = execute(
    headed.graph,
    feeds({ labels: tensor("i64", [2], [2, 0]) }),
  );
  assert.deepEqual(out.get("logits")!.shape, [2, 3]);
  assert.ok(Math.abs(out.get("loss")!.data[0] - Math.log(3)) < 0.3);
});

Deno.test("head weights are seeded N(0, 0.02²) and biases zero", () => {
  const a = attachHead(ENCODER, "classification:3", { seed: 1 }).graph;
  const b = attachHead(ENCODER, "classification:3", { seed: 1 }).graph;
  const c = attachHead(ENCODER, "classification:3", { seed: 2 }).graph;
  const w = Array.from(a.constants.get("classifier.weight")!.data);
  assert.deepEqual(w, Array.from(b.constants.get("classifier.weight")!.data));
  assert.notDeepEqual(
    w,
    Array.from(c.constants.get("classifier.weight")!.data),
  );
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
  assert.ok(
    Math.abs(mean) < 0.003 && Math.abs(std - 0.02) < 0.002,
    `${mean} ${std}`,
  );
  assert.ok(a.constants.get("classifier.bias")!.data.every((v) => v === 0));
});

Deno.test("regression head: MSE against float labels", () => {
  const headed = attachHead(ENCODER, parseHead("regression"));
  const out = execute(
    headed.graph,
    feeds({ labels: tensor("f32", [2], [1, -1]) }),
  );
  const pred = Array.from(out.get("logits")!.data);
  const mse = ((pred[0] - 1) ** 2 + (pred[1] + 1) ** 2) / 2;
  assert.ok(Math.abs(out.get("loss")!.data[0] - mse) < 1e-6);
});

Deno.test("span head: per-token logits, span loss near ln S, pooler dropped", () => {
  const headed = attachHead(ENCODER, "span");
  assert.deepEqual(headed.labels, ["start_positions", "end_positions"]);
  assert.ok(!headed.params.some((p) => p.startsWith("bert.pooler")));
  assert.ok(headed.params.includes("qa_outputs.weight"));
  const out = execute(
    headed.graph,
    feeds({
      start_positions: tensor("i64", [2], [1, 3]),
      end_positions: tensor("i64", [2], [2, 6]),
    }),
  );
  assert.deepEqual(out.get("logits")!.shape, [2, 8, 2]);
  assert.ok(Math.abs(out.get("loss")!.data[0] - Math.log(8)) < 0.5);
});

Deno.test("attachHead refuses a graph without encoder outputs or with the head already on", () => {
  const headed: Graph = attachHead(ENCODER, "classification:2").graph;
  assert.throws(
    () => attachHead(headed, "classification:2"),
    /needs a statically typed output 'last_hidden_state'/,
  );
  const noPooler = { ...ENCODER, outputs: ["last_hidden_state"] };
  assert.throws(() => attachHead(noPooler, "classification:2"), HeadError);
  assert.equal(attachHead(noPooler, "span").loss, "loss");
  const taken = { ...ENCODER, inputs: [...ENCODER.inputs, "labels"] };
  assert.throws(
    () => attachHead(taken, "regression"),
    /already has a value 'labels'/,
  );
});

Deno.test("the classification head's gradients match central differences", () => {
  const headed = attachHead(ENCODER, "classification:2");
  const graph = autodiff(headed.graph, { loss: "loss", wrt: headed.params });
  verify(graph, { requireStatic: true });
  const fed = feeds({ labels: tensor("i64", [2], [1, 0]) });
  const out = execute(graph, fed);
  const gradients = new Map(
    headed.params.map((p) => [p, out.get(`${p}@grad`)!]),
  );
  const picks = [
    "classifier.weight",
    "bert.pooler.dense.bias",
    "bert.embeddings.LayerNorm.weight",
  ]
    .map((param) => ({ param, index: 1 }));
  const samples = compareSamples(
    headed.graph,
    fed,
    "loss",
    gradients,
    picks,
    1e-2,
    1e-3,
  );
  for (const s of samples) assert.ok(s.error < 1e-2, `${s.param}: ${s.error}`);
});
