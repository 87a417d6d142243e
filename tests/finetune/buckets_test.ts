import assert from "node:assert/strict";
import { makeBatches, shuffledOrder } from "../../src/finetune/batches.ts";
import { bucketFor, bucketLengths } from "../../src/finetune/buckets.ts";
import {
  fineTune,
  type FineTuneOptions,
  runPrograms,
} from "../../src/finetune/fine_tune.ts";
import type { TrainingState } from "../../src/training/state.ts";
import { decodeState, encodeState } from "../../src/training/checkpoint.ts";
import { join } from "node:path";
import { runScript } from "../run_script.ts";
import { tinyCliArgs, tinyModel, tinyOptions, tinySet } from "./tiny.ts";

// The tiny set's rows are 6–8 tokens: with seq 12 and a bucket at 7, batches
// of 4 rows fall on either side of it.
const BUCKETED = { batch: 4, seq: 12, buckets: [7] };

Deno.test("bucket lengths: powers of two from 32, always the sequence length, validated", () => {
  assert.deepEqual(bucketLengths(128), [32, 64, 128]);
  assert.deepEqual(bucketLengths(100), [32, 64, 100]);
  assert.deepEqual(bucketLengths(32), [32]);
  assert.deepEqual(bucketLengths(12), [12]);
  assert.deepEqual(bucketLengths(128, []), [128]);
  assert.deepEqual(bucketLengths(128, [64, 16, 64]), [16, 64, 128]);
  assert.throws(() => bucketLengths(128, [256]), /integer in \[1, 128\]/);
  assert.throws(() => bucketLengths(128, [12.5]), /got 12.5/);
  assert.equal(bucketFor([16, 64, 128], 16), 16);
  assert.equal(bucketFor([16, 64, 128], 17), 64);
  assert.throws(() => bucketFor([16], 17), /No length bucket holds 17/);
});

Deno.test("bucketed batches are padded to the shortest bucket holding their longest row", async () => {
  const { tokenizer, train } = await tinySet(64, 0);
  const imported = tinyModel(1);
  const options = tinyOptions(BUCKETED);
  const program = runPrograms(imported, train.length, options)(12);
  const order = shuffledOrder(train.length, 3, 1);
  const batchesOf = (lengths: number[]) =>
    makeBatches(
      program.forward,
      train,
      order,
      tokenizer,
      "labels",
      4,
      12,
      lengths,
    );
  const plain = batchesOf([12]);
  const bucketed = batchesOf([7, 12]);
  assert.equal(bucketed.length, plain.length);
  bucketed.forEach((b, i) => {
    const mask = [...b.feeds.keys()].find((n) => /mask/.test(n))!;
    for (const t of b.feeds.values()) {
      if (t.shape.length === 2) assert.deepEqual(t.shape, [4, b.length]);
    }
    const longest = Math.max(
      ...[0, 1, 2, 3].map((r) =>
        Array.from(
          b.feeds.get(mask)!.data.slice(r * b.length, (r + 1) * b.length),
          Number,
        ).reduce((a, x) => a + x, 0)
      ),
    );
    assert.equal(b.length, longest <= 7 ? 7 : 12, `batch ${i}`);
    // Same rows, same real tokens: only the padding is cut.
    assert.equal(b.tokens, plain[i].tokens);
    assert.deepEqual(b.labels, plain[i].labels);
  });
  const lengths = new Set(bucketed.map((b) => b.length));
  assert.deepEqual([...lengths].sort(), [12, 7], "both buckets are used");
});

// Key biases have a zero gradient in exact arithmetic (softmax ignores a
// constant added to a row of scores), so AdamW, which normalises gradients,
// moves them by scaled roundoff: they stay near 0 but match only loosely.
const ROUNDOFF_ONLY = /attention\.self\.key\.bias/;

function assertClose(
  a: TrainingState,
  b: TrainingState,
  tolerance: number,
): void {
  assert.equal(a.step, b.step);
  for (const [name, t] of b.tensors) {
    const u = a.tensors.get(name)!;
    assert.deepEqual(u.shape, t.shape, name);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < t.data.length; i++) {
      diff = Math.max(diff, Math.abs(Number(u.data[i]) - Number(t.data[i])));
      scale = Math.max(scale, Math.abs(Number(t.data[i])));
    }
    if (ROUNDOFF_ONLY.test(name)) {
      assert.ok(scale < 1e-5, `${name} stays near 0: ${scale}`);
    } else {
      assert.ok(diff <= tolerance * scale, `${name}: ${diff} vs ${scale}`);
    }
  }
}

for (const backend of ["wasm", "reference"] as const) {
  Deno.test(`a bucketed run trains like an unbucketed one (${backend})`, async () => {
    const { tokenizer, train, dev } = await tinySet(32, 16);
    const imported = tinyModel(7);
    const options: FineTuneOptions = tinyOptions({
      ...BUCKETED,
      weightDecay: 0.01,
      seed: 4,
      backend,
    });
    const bucketed = await fineTune(imported, train, dev, tokenizer, options);
    const plain = await fineTune(imported, train, dev, tokenizer, {
      ...options,
      buckets: [],
    });
    assert.equal(bucketed.losses.length, 8);
    bucketed.losses.forEach((loss, i) => {
      const want = plain.losses[i];
      assert.ok(
        Math.abs(loss - want) <= 1e-5 * Math.abs(want),
        `step ${i + 1}: ${loss} vs ${want}`,
      );
    });
    assertClose(bucketed.state, plain.state, 1e-5);
    assert.deepEqual(bucketed.history[0].dev, plain.history[0].dev);
  });
}

Deno.test("a bucketed run killed mid-epoch and resumed ends bit-identical", async () => {
  const { tokenizer, train, dev } = await tinySet(32, 8);
  const imported = tinyModel(5);
  const options = tinyOptions({ ...BUCKETED, epochs: 2, seed: 6 });
  const whole = await fineTune(imported, train, dev, tokenizer, options);
  let saved: Uint8Array | undefined;
  await fineTune(imported, train, dev, tokenizer, options, {
    stopAfter: 11,
    checkpointEvery: 11,
    onCheckpoint: (state) => {
      saved = encodeState(state);
      return Promise.resolve();
    },
  });
  const resumed = await fineTune(
    imported,
    train,
    dev,
    tokenizer,
    options,
    {},
    decodeState(saved!, "checkpoint"),
  );
  assert.deepEqual(resumed.losses, whole.losses.slice(11));
  for (const [name, t] of whole.state.tensors) {
    assert.deepEqual(resumed.state.tensors.get(name)!.data, t.data, name);
  }
});

Deno.test("deno task finetune takes --length-buckets and refuses bad lists", async () => {
  const dir = await Deno.makeTempDir();
  const cli = new URL("../../src/cli/finetune.ts", import.meta.url);
  try {
    const common = [...(await tinyCliArgs(dir)), "--seq", "12", "--epochs"];
    const out = join(dir, "run");
    const ok = await runScript(
      cli,
      ...common,
      "1",
      "--max-train-samples",
      "64",
      "--length-buckets",
      "8",
      "--out",
      out,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const metrics = JSON.parse(
      await Deno.readTextFile(join(out, "metrics.json")),
    );
    assert.deepEqual(metrics.options.buckets, [8]);
    for (const bad of ["4", "8,13", "8.5", "8,,12", "short"]) {
      const refused = await runScript(
        cli,
        ...common,
        "1",
        "--length-buckets",
        bad,
        "--out",
        out,
      );
      assert.equal(refused.code, 2, bad);
      assert.match(
        refused.stderr,
        /^error: Option '--length-buckets' must be 'none' or integers from 8 to --seq \(12\)/,
        bad,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
