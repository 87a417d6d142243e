import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { execute } from "../../src/executor/execute.ts";
import { makeBatches } from "../../src/finetune/batches.ts";
import {
  dynamicServingGraph,
  servingGraph,
} from "../../src/finetune/serving_graph.ts";
import { join } from "node:path";
import { exportOnnx } from "../../src/export/onnx_export.ts";
import { fineTune } from "../../src/finetune/fine_tune.ts";
import { decodeState, encodeState } from "../../src/training/checkpoint.ts";
import { runScript } from "../run_script.ts";
import { tinyModel, tinyOptions, tinySet } from "./tiny.ts";

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
  // The same seed gives the same run, bit for bit, on two threads too.
  const again = await fineTune(imported, train, dev, tokenizer, {
    ...options,
    threads: 2,
  });
  assert.deepEqual(again.losses, result.losses);
  assert.deepEqual(
    again.history,
    result.history.map((r, i) => ({
      ...r,
      tokensPerSecond: again.history[i].tokensPerSecond,
    })),
  );
});

Deno.test("deno task demo runs end to end and refuses bad options", async () => {
  const out = await Deno.makeTempDir();
  const demo = new URL("../../examples/demo.ts", import.meta.url);
  const run = (...args: string[]) => runScript(demo, ...args);
  try {
    const ok = await run("--epochs", "1", "--out", out);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /matmuls +17: 13 with a constant weight/);
    assert.match(ok.stdout, /dev +accuracy \d\.\d{4} after 50 steps/);
    assert.match(await Deno.readTextFile(join(out, "loss.svg")), /^<svg/);
    assert.equal(
      JSON.parse(await Deno.readTextFile(join(out, "metrics.json"))).history
        .length,
      1,
    );
    const bad = await run("--lr", "-1");
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^error: Option '--lr' must be a number > 0/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a run killed mid-epoch and resumed from its checkpoint ends bit-identical", async () => {
  const { tokenizer, train, dev } = await tinySet(80, 16);
  const imported = tinyModel(4);
  // With dropout: the resumed steps must draw the masks the whole run drew.
  const options = tinyOptions({
    epochs: 2,
    warmupRatio: 0.2,
    weightDecay: 0.01,
    seed: 9,
    dropout: 0.1,
  });
  const whole = await fineTune(imported, train, dev, tokenizer, options);
  assert.ok(whole.program.step.nodes.some((n) => n.op === "DropoutTrain"));
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

Deno.test("the exported fine-tuned model gives the runtime's logits in onnxruntime-node, at any shape", async () => {
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
  const dynamic = dynamicServingGraph(imported, program, state);
  assert.deepEqual(dynamic.inputs, serving.inputs);
  const session = await ort.InferenceSession.create(exportOnnx(dynamic));
  /** ORT's logits for the first `rows` rows, padded to `length` tokens. */
  const logits = async (rows: number, length: number) => {
    const feeds = Object.fromEntries(
      serving.inputs.map((name) => {
        const t = batch.feeds.get(name)!;
        const data = new BigInt64Array(rows * length);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < Math.min(length, 12); c++) {
            data[r * length + c] = BigInt(t.data[r * 12 + c]);
          }
        }
        return [name, new ort.Tensor("int64", data, [rows, length])];
      }),
    );
    return (await session.run(feeds)).logits.data as Float32Array;
  };
  const relative = (theirs: Float32Array) => {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < theirs.length; i++) {
      diff = Math.max(diff, Math.abs(ours.data[i] - theirs[i]));
      scale = Math.max(scale, Math.abs(theirs[i]));
    }
    return diff / scale;
  };
  // The training shape, fewer rows, and more (masked) padding.
  for (const [rows, length] of [[16, 12], [3, 12], [16, 16]]) {
    const e = relative(await logits(rows, length));
    assert.ok(e <= 1e-4, `${rows}×${length}: relative error ${e}`);
  }
  await session.release();
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
