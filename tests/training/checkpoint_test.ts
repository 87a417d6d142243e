import assert from "node:assert/strict";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { appendOptimizer } from "../../src/passes/optimizer.ts";
import {
  CheckpointError,
  crc32,
  decodeState,
  encodeState,
} from "../../src/training/checkpoint.ts";
import {
  loadCheckpoint,
  saveCheckpoint,
} from "../../src/training/checkpoint_file.ts";
import { train } from "../../src/training/reference_trainer.ts";
import {
  initialTrainingState,
  type TrainingState,
} from "../../src/training/state.ts";
import { batchAt, blobs, softmaxRegression } from "./_softmax_regression.ts";

/** The raw bytes of every tensor, so equality is bit equality. */
function bits(state: TrainingState) {
  return {
    step: state.step,
    seed: state.seed,
    tensors: [...state.tensors].map(([name, t]) => [
      name,
      t.dtype,
      [...t.shape],
      new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ]),
  };
}

function sampleState(): TrainingState {
  const special = tensor("f32", [2, 3], [0, -0, Infinity, -Infinity, 1e-45, 3]);
  // A NaN with a payload: a float conversion would be free to canonicalise it.
  new Uint32Array(special.data.buffer)[5] = 0x7fc00abc;
  return {
    step: 12345,
    seed: 0xfffffffe,
    tensors: new Map<string, Tensor>([
      ["encoder.layer.0.weight", special],
      ["encoder.layer.0.weight@m", tensor("f32", [], [0.25])],
      ["empty", tensor("f32", [0, 4])],
      ["encoder.layer.0.bias@v", tensor("f32", [5], [1, 2, 3, 4, 5])],
    ]),
  };
}

Deno.test("checkpoint: encode → decode is bit-identical, NaN payloads included", () => {
  const state = sampleState();
  const bytes = encodeState(state);
  assert.deepEqual(bits(decodeState(bytes)), bits(state));
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "TESSCKPT");
  const headerBytes = new DataView(bytes.buffer).getUint32(12, true);
  assert.equal(headerBytes % 4, 0, "payload stays 4-byte aligned");
  // Encoding is deterministic: same state, same bytes.
  assert.deepEqual(encodeState(decodeState(bytes)), bytes);
});

Deno.test("checkpoint: crc32 is the IEEE CRC (zlib's check value)", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("checkpoint: truncated, corrupt or foreign bytes are refused", () => {
  const bytes = encodeState(sampleState());
  const refuses = (b: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => decodeState(b, "run.ckpt"),
      (e) => e instanceof CheckpointError && pattern.test(e.message),
    );
  for (const cut of [0, 10, 40, bytes.length - 30, bytes.length - 1]) {
    refuses(bytes.subarray(0, cut), /'run.ckpt': it is truncated/);
  }
  const flipped = bytes.slice();
  flipped[bytes.length - 10] ^= 0x01; // one bit of the last tensor
  refuses(flipped, /checksum mismatch/);
  const badHeader = bytes.slice();
  badHeader[16] = 0x41; // '{' → 'A'
  refuses(badHeader, /header is not valid JSON/);
  const foreign = bytes.slice();
  foreign[0] = 0x50;
  refuses(foreign, /not a tessera checkpoint/);
  const future = bytes.slice();
  new DataView(future.buffer).setUint32(8, 2, true);
  refuses(future, /format version 2 is not supported/);
  const longer = new Uint8Array(bytes.length + 3);
  longer.set(bytes);
  refuses(longer, /3 bytes after its checksum/);
});

Deno.test("checkpoint: only whole f32 tensors and integer step/seed are saved", () => {
  const base = sampleState();
  const withInt = new Map(base.tensors).set("ids", tensor("i32", [2], [1, 2]));
  assert.throws(
    () => encodeState({ ...base, tensors: withInt }),
    /tensor 'ids' is i32\[2\]/,
  );
  assert.throws(() => encodeState({ ...base, step: 1.5 }), CheckpointError);
});

Deno.test("checkpoint file: atomic save, load, and a failed save keeps the old file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/run.ckpt`;
    const state = sampleState();
    // A stale temporary from an interrupted save does not get in the way.
    await Deno.writeFile(`${path}.tmp`, new Uint8Array([1, 2, 3]));
    await saveCheckpoint(path, state);
    assert.deepEqual(bits(await loadCheckpoint(path)), bits(state));
    await assert.rejects(() => Deno.stat(`${path}.tmp`), Deno.errors.NotFound);
    const bad = new Map(state.tensors).set("x", tensor("f64", [1]));
    await assert.rejects(
      () => saveCheckpoint(path, { ...state, tensors: bad }),
      CheckpointError,
    );
    assert.deepEqual(bits(await loadCheckpoint(path)), bits(state));
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(
      () => loadCheckpoint(path),
      (e: Error) =>
        e instanceof CheckpointError && e.message.includes(path) &&
        /truncated/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint: stop after k steps, save, load, continue = one uninterrupted run, bit for bit", async () => {
  const graph = softmaxRegression();
  const data = blobs(1);
  const total = 24;
  const stepGraph = appendOptimizer(graph, {
    lr: 0.05,
    warmupSteps: 4,
    totalSteps: total,
    weightDecay: 0.01,
  });
  const batches = (step: number, seed: number) => batchAt(data, step, seed);
  const start = initialTrainingState(graph, 11);
  const straight = train(stepGraph, start, total, batches);

  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/step.ckpt`;
    // Stop mid-epoch and mid-schedule, so the data order, the lr and Adam's
    // bias correction all depend on the restored step and seed.
    const k = 9;
    await saveCheckpoint(path, train(stepGraph, start, k, batches));
    const resumed = train(
      stepGraph,
      await loadCheckpoint(path),
      total - k,
      batches,
    );
    assert.deepEqual(bits(resumed), bits(straight));
    // And the check has teeth: resuming with the wrong step differs.
    const skewed = { ...(await loadCheckpoint(path)), step: k + 1 };
    const wrong = train(stepGraph, skewed, total - k - 1, batches);
    assert.notDeepEqual(bits(wrong).tensors, bits(straight).tensors);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
