import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { execute } from "../../src/executor/execute.ts";
import { makeBatches } from "../../src/finetune/batches.ts";
import { servingGraph } from "../../src/finetune/serving_graph.ts";
import { join } from "node:path";
import { parseGlue } from "../../runtime/data/glue.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { exportOnnx } from "../../src/export/onnx_export.ts";
import {
  fineTune,
  type FineTuneOptions,
} from "../../src/finetune/fine_tune.ts";
import { decodeState, encodeState } from "../../src/training/checkpoint.ts";
import { importOnnx } from "../../src/frontend/import_model.ts";
import { buildBertGraph } from "../../src/models/bert_builder.ts";

const DATA =
  new URL("../../examples/data/tiny-sentiment/", import.meta.url).pathname;
const CONFIG = {
  vocab_size: 44,
  hidden_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 16,
  type_vocab_size: 2,
};

/** The tiny sentiment set: its tokenizer and the first `train`/`dev` rows. */
async function tinySet(train: number, dev: number) {
  const tokenizer = await loadTokenizer(join(DATA, "vocab.txt"));
  const read = (split: "train" | "dev") =>
    parseGlue(
      "SST-2",
      split,
      Deno.readTextFileSync(join(DATA, `${split}.tsv`)),
      split,
    );
  return {
    tokenizer,
    train: read("train").slice(0, train),
    dev: read("dev").slice(0, dev),
  };
}

/** A one-layer BERT with seeded weights, as the frontend imports it. */
function tinyModel(seed: number) {
  return importOnnx(exportOnnx(buildBertGraph(CONFIG, seed))).graph;
}

/** Run settings for the tiny set; `overrides` change what a test is about. */
function tinyOptions(overrides: Partial<FineTuneOptions>): FineTuneOptions {
  return {
    task: "SST-2",
    head: "classification:2",
    epochs: 1,
    batch: 16,
    seq: 12,
    learningRate: 2e-3,
    warmupRatio: 0,
    weightDecay: 0,
    seed: 1,
    ...overrides,
  };
}

Deno.test("fine-tuning a built BERT on the tiny set lowers the loss and scores the dev set", async () => {
  const { tokenizer, train, dev } = await tinySet(320, 40);
  const imported = tinyModel(3);
  const options = tinyOptions({ epochs: 4, seed: 5 });
  const epochs: number[] = [];
  const result = await fineTune(imported, train, dev, tokenizer, options, {
    onEpoch: (r) => epochs.push(r.epoch),
  });
  assert.deepEqual(epochs, [1, 2, 3, 4]);
  assert.equal(result.losses.length, 80);
  assert.equal(result.state.step, 80);
  const first = result.history[0].trainLoss;
  const last = result.history[3].trainLoss;
  assert.ok(last < first * 0.9, `train loss ${first} → ${last}`);
  assert.deepEqual(Object.keys(result.history[3].dev), ["accuracy"]);
  assert.ok(
    result.history[3].dev.accuracy > 0.7,
    `dev accuracy ${result.history[3].dev.accuracy}`,
  );
  // The same seed gives the same run, bit for bit.
  const again = await fineTune(imported, train, dev, tokenizer, options);
  assert.deepEqual(again.losses, result.losses);
});

Deno.test("deno task demo runs end to end and refuses bad options", async () => {
  const out = await Deno.makeTempDir();
  const demo = new URL("../../examples/demo.ts", import.meta.url).pathname;
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", demo, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  try {
    const ok = await run("--epochs", "1", "--out", out);
    const stdout = new TextDecoder().decode(ok.stdout);
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    assert.match(stdout, /matmuls +17: 13 with a constant weight/);
    assert.match(stdout, /dev +accuracy \d\.\d{4} after 50 steps/);
    assert.match(await Deno.readTextFile(join(out, "loss.svg")), /^<svg/);
    assert.equal(
      JSON.parse(await Deno.readTextFile(join(out, "metrics.json"))).history
        .length,
      1,
    );
    const bad = await run("--lr", "-1");
    assert.equal(bad.code, 2);
    assert.match(
      new TextDecoder().decode(bad.stderr),
      /^error: Option '--lr' must be a number > 0/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a run killed mid-epoch and resumed from its checkpoint ends bit-identical", async () => {
  const { tokenizer, train, dev } = await tinySet(80, 16);
  const imported = tinyModel(4);
  const options = tinyOptions({
    epochs: 2,
    warmupRatio: 0.2,
    weightDecay: 0.01,
    seed: 9,
  });
  const whole = await fineTune(imported, train, dev, tokenizer, options);
  let saved: Uint8Array | undefined;
  const killed = await fineTune(imported, train, dev, tokenizer, options, {
    checkpointEvery: 7,
    stopAfter: 7,
    onCheckpoint: (state) => {
      saved = encodeState(state);
      return Promise.resolve();
    },
  });
  assert.equal(
    killed.state.step,
    7,
    "stopped in the middle of epoch 2 (5 steps an epoch)",
  );
  const resumed = await fineTune(
    imported,
    train,
    dev,
    tokenizer,
    options,
    {},
    decodeState(saved!, "checkpoint"),
  );
  assert.equal(resumed.state.step, whole.state.step);
  for (const [name, t] of whole.state.tensors) {
    assert.deepEqual(resumed.state.tensors.get(name)!.data, t.data, name);
  }
  assert.deepEqual(resumed.losses, whole.losses.slice(7));
});

Deno.test("the exported fine-tuned model gives the runtime's logits in onnxruntime-node", async () => {
  const { tokenizer, train, dev } = await tinySet(32, 16);
  const imported = tinyModel(6);
  const options = tinyOptions({ seed: 2 });
  const { program, state } = await fineTune(
    imported,
    train,
    dev,
    tokenizer,
    options,
  );
  const serving = servingGraph(program, state);
  assert.deepEqual(serving.outputs, ["logits"]);
  assert.ok(!serving.inputs.includes("labels"));
  const batch = makeBatches(
    serving,
    train,
    [...Array(16).keys()],
    tokenizer,
    "labels",
    16,
    12,
  )[0];
  const ours = execute(serving, batch.feeds).get("logits")!;
  const session = await ort.InferenceSession.create(exportOnnx(serving));
  const feeds = Object.fromEntries(
    serving.inputs.map((name) => {
      const t = batch.feeds.get(name)!;
      return [
        name,
        new ort.Tensor(
          "int64",
          BigInt64Array.from(Array.from(t.data), (v) => BigInt(v)),
          [...t.shape],
        ),
      ];
    }),
  );
  const theirs = (await session.run(feeds)).logits.data as Float32Array;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < theirs.length; i++) {
    diff = Math.max(diff, Math.abs(ours.data[i] - theirs[i]));
    scale = Math.max(scale, Math.abs(theirs[i]));
  }
  assert.ok(diff / scale <= 1e-4, `relative error ${diff / scale}`);
});

Deno.test("the WASM engine trains like the reference executor", async () => {
  const { tokenizer, train, dev } = await tinySet(64, 32);
  const imported = tinyModel(8);
  const options = tinyOptions({
    epochs: 2,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    seed: 3,
  });
  const wasm = await fineTune(
    imported,
    train,
    dev,
    tokenizer,
    options,
  );
  const reference = await fineTune(
    imported,
    train,
    dev,
    tokenizer,
    { ...options, backend: "reference" },
  );
  assert.equal(wasm.losses.length, 8);
  wasm.losses.forEach((loss, i) => {
    assert.ok(
      Math.abs(loss - reference.losses[i]) <=
        1e-4 * Math.abs(reference.losses[i]),
      `step ${i + 1}: ${loss} vs ${reference.losses[i]}`,
    );
  });
  assert.deepEqual(
    wasm.history.map((h) => h.dev),
    reference.history.map((h) => h.dev),
  );
});
