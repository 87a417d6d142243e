import assert from "node:assert/strict";
import { runScript } from "../run_script.ts";
import { tinyCliArgs } from "./tiny.ts";
import { join } from "node:path";
import { loadCheckpoint } from "../../src/training/checkpoint_file.ts";

const CLI = new URL("../../src/cli/finetune.ts", import.meta.url);
const run = (...args: string[]) => runScript(CLI, ...args);

Deno.test("deno task finetune trains, checkpoints, resumes and refuses bad options", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const common = [...(await tinyCliArgs(dir))];
    const shape = [
      "--batch",
      "32",
      "--seq",
      "12",
      "--lr",
      "1e-3",
      "--out",
      join(dir, "run"),
    ];
    const first = await run(
      ...common,
      ...shape,
      "--epochs",
      "1",
      "--save-steps",
      "10",
    );
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stderr,
      /finetune: step 25\/25 · loss \d+\.\d{4} · \d+ tokens\/s · elapsed .* · ETA /,
    );
    assert.match(first.stderr, /epoch 1: step 25, train loss/);
    assert.equal(
      (await loadCheckpoint(join(dir, "run", "checkpoint.bin"))).step,
      25,
    );
    assert.ok((await Deno.stat(join(dir, "run", "model.onnx"))).size > 0);
    const metrics = JSON.parse(
      await Deno.readTextFile(join(dir, "run", "metrics.json")),
    );
    assert.ok(metrics.history[0].dev.accuracy >= 0);
    assert.ok(metrics.peakResidentBytes > 2 ** 20, "peak memory recorded");
    const resumed = await run(...common, ...shape, "--epochs", "2", "--resume");
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      /finetune: step 26\/50/,
      "resumed at step 26, not from scratch",
    );
    assert.match(resumed.stdout, /"step":50/);
    // A finished run resumed has nothing to train: it scores its state once,
    // so the metrics keep the last epoch's dev scores.
    const finished = await run(
      ...common,
      ...shape,
      "--epochs",
      "2",
      "--resume",
    );
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(
      finished.stderr,
      /epoch 2: step 50, resumed at the last step: nothing to train, scored only, dev \{"accuracy":/,
    );
    assert.deepEqual(
      JSON.parse(finished.stdout).dev,
      JSON.parse(resumed.stdout).dev,
    );
    const rescored = JSON.parse(
      await Deno.readTextFile(join(dir, "run", "metrics.json")),
    );
    assert.deepEqual(
      rescored.history.map((h: { epoch: number; dev: unknown }) => [
        h.epoch,
        h.dev,
      ]),
      [[2, JSON.parse(resumed.stdout).dev]],
    );
    const evaluated = await runScript(
      new URL("../../src/cli/eval.ts", import.meta.url),
      ...common,
      "--checkpoint",
      join(dir, "run", "checkpoint.bin"),
      "--batch",
      "32",
      "--seq",
      "12",
    );
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const scored = JSON.parse(evaluated.stdout);
    assert.equal(scored.step, 50);
    assert.equal(
      scored.metrics.accuracy,
      JSON.parse(resumed.stdout).dev.accuracy,
      "eval agrees with the run's last epoch",
    );
    const bad = await run(...common, "--out", dir, "--precision", "int9");
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^error: Unknown precision recipe 'int9'; use one of: fp32, fp16, int8, int8-a1, int8-a2, int12, int16\./,
    );
    const dropout = await run(...common, "--out", dir, "--dropout", "1");
    assert.equal(dropout.code, 2);
    assert.match(
      dropout.stderr,
      /^error: Option '--dropout' must be in \[0, 1\), got '1'\./,
    );
    const threads = await run(...common, "--out", dir, "--threads", "9");
    assert.equal(threads.code, 2);
    assert.match(
      threads.stderr,
      /^error: Option '--threads' must be an integer in \[1, 4\], got 9\./,
    );
    // Two threads: the process still exits, with the same epoch as one thread.
    const limited = await run(
      ...common,
      ...shape,
      "--epochs",
      "1",
      "--max-train-samples",
      "64",
      "--threads",
      "2",
      "--out",
      join(dir, "limited"),
    );
    assert.equal(limited.code, 0, limited.stderr);
    assert.match(limited.stderr, /finetune: step 2\/2 /);
    // Recomputation changes memory, not results: the same weights bit for bit.
    const steps = async (out: string, ...extra: string[]) => {
      const r = await run(
        ...common,
        ...shape,
        "--epochs",
        "1",
        "--max-train-samples",
        "64",
        "--precision",
        "int8",
        "--attention-int",
        "--out",
        join(dir, out),
        ...extra,
      );
      assert.equal(r.code, 0, r.stderr);
      return (await loadCheckpoint(join(dir, out, "checkpoint.bin"))).tensors;
    };
    const plain = await steps("plain");
    const lean = await steps("lean", "--recompute", "gelu,softmax");
    const leanMetrics = JSON.parse(
      await Deno.readTextFile(join(dir, "lean", "metrics.json")),
    );
    assert.deepEqual(leanMetrics.options.recompute, ["gelu", "softmax"]);
    assert.equal(lean.size, plain.size);
    for (const [name, t] of plain) {
      assert.deepEqual(lean.get(name)!.data, t.data, name);
    }
    const badRecompute = await run(
      ...common,
      "--out",
      dir,
      "--recompute",
      "gelu,layernorm",
    );
    assert.equal(badRecompute.code, 2);
    assert.match(
      badRecompute.stderr,
      /^error: Option '--recompute': Unknown recompute target 'layernorm'; use gelu, softmax/,
    );
    const zero = await run(...common, "--out", dir, "--max-train-samples", "0");
    assert.equal(zero.code, 2);
    assert.match(
      zero.stderr,
      /'--max-train-samples' must be a positive integer/,
    );
    const missing = await run("--out", dir);
    assert.match(missing.stderr, /Option '--task' is required/);
    const badTsv = join(dir, "bad");
    await Deno.mkdir(badTsv);
    await Deno.writeTextFile(
      join(badTsv, "train.tsv"),
      "sentence\tlabel\ngood film\t1\nbad row without label\n",
    );
    await Deno.writeTextFile(join(badTsv, "dev.tsv"), "sentence\tlabel\n");
    // The same options, but --data points at the bad files (the last --data wins).
    const row = await run(
      ...common,
      "--data",
      badTsv,
      "--out",
      dir,
    );
    assert.equal(row.code, 1);
    assert.match(row.stderr, /train\.tsv.*line 3/);
    assert.doesNotMatch(row.stderr, /\n\s+at /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
