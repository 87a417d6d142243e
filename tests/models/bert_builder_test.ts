import assert from "node:assert/strict";
import { join } from "node:path";
import { execute } from "../../src/executor/execute.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import {
  BertConfigError,
  buildBertGraph,
} from "../../src/models/bert_builder.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { realFeeds, SHARED } from "./model_inputs.ts";

const MODEL = join(SHARED, "models/tessera-bert-mini/encoder.onnx");

function transpose(t: Tensor): Tensor {
  const [rows, cols] = t.shape;
  const out = new Array<number>(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  }
  return tensor(t.dtype, [cols, rows], out);
}

/** BERT-mini's weights under the builder's names: the named ones as imported, the MatMul ones by node. */
function weightsOf(imported: Graph, graph: Graph): Map<string, Tensor> {
  const weights = new Map(imported.constants);
  for (const node of graph.nodes) {
    const m = /^\/bert\/encoder\/layer\.(\d+)\/(.+)\/MatMul$/.exec(node.name);
    if (m !== null && graph.constants.has(node.inputs[1])) {
      weights.set(
        `bert.encoder.layer.${m[1]}.${m[2].replaceAll("/", ".")}.weight`,
        graph.constants.get(node.inputs[1])!,
      );
    }
  }
  weights.set(
    "bert.pooler.dense.weight",
    transpose(graph.constants.get("bert.pooler.dense.weight")!),
  );
  return weights;
}

Deno.test("the built BERT computes what the exported BERT-mini computes, given its weights", async () => {
  const { graph } = importOnnxFile(MODEL);
  const config = JSON.parse(
    await Deno.readTextFile(
      join(SHARED, "models/tessera-bert-mini/config.json"),
    ),
  );
  const options = { batch: 2, seq: 24, dims: {} };
  const exported = runPipeline(graph, options);
  const weights = weightsOf(graph, exported);
  const built = runPipeline(
    buildBertGraph(config, 1, (name) => weights.get(name)),
    options,
  );
  const feeds = await realFeeds(MODEL, graph);
  const want = execute(exported, feeds);
  const got = execute(built, feeds);
  for (const output of ["last_hidden_state", "pooler_output"]) {
    const a = got.get(output)!.data;
    const b = want.get(output)!.data;
    let diff = 0;
    for (let i = 0; i < b.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
    }
    assert.ok(diff < 1e-5, `${output}: max difference ${diff}`);
  }
  const count = (g: Graph, ...ops: string[]) =>
    g.nodes.filter((n) => ops.includes(n.op)).length;
  for (
    const ops of [["MatMul", "Gemm"], ["LayerNorm"], ["Gelu"], ["Softmax"], [
      "Reshape",
    ], ["Transpose"]]
  ) {
    assert.equal(count(built, ...ops), count(exported, ...ops), ops.join("+"));
  }
});

Deno.test("seeded random BERTs are reproducible and bad configs are refused", () => {
  const config = {
    vocab_size: 50,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 16,
    type_vocab_size: 2,
  };
  const a = buildBertGraph(config, 7).constants.get(
    "bert.encoder.layer.0.attention.self.query.weight",
  )!;
  const b = buildBertGraph(config, 7).constants.get(
    "bert.encoder.layer.0.attention.self.query.weight",
  )!;
  const c = buildBertGraph(config, 8).constants.get(
    "bert.encoder.layer.0.attention.self.query.weight",
  )!;
  assert.deepEqual([...a.data], [...b.data]);
  assert.notDeepEqual([...a.data], [...c.data]);
  const std = Math.sqrt(
    Array.from(a.data).reduce((s, x) => s + x * x, 0) / a.data.length,
  );
  assert.ok(std > 0.01 && std < 0.03, `std ${std}`);
  assert.throws(
    () => buildBertGraph({ ...config, num_attention_heads: 3 }),
    BertConfigError,
  );
});
