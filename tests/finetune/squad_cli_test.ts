import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../../src/training/checkpoint_file.ts";
import { runScript } from "../run_script.ts";
import { SQUAD_CONFIG, SQUAD_VOCAB, syntheticSquad } from "./squad_fixture.ts";
import { tinyOnnx } from "./tiny.ts";

const CLI = new URL("../../src/cli/finetune.ts", import.meta.url);

Deno.test("deno task finetune --task squad splits by article, trains, scores and refuses bad input", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = {
      model: join(dir, "tiny.onnx"),
      vocab: join(dir, "vocab.txt"),
      data: join(dir, "squad.json"),
      bad: join(dir, "bad.json"),
    };
    await Deno.writeFile(files.model, tinyOnnx(3, SQUAD_CONFIG));
    await Deno.writeTextFile(files.vocab, SQUAD_VOCAB);
    await Deno.writeTextFile(files.data, syntheticSquad(5, 8));
    await Deno.writeTextFile(files.bad, "{");
    const out = join(dir, "run");
    const run = (data: string, ...extra: string[]) =>
      runScript(
        CLI,
        ...["--task", "squad", "--model", files.model, "--vocab", files.vocab],
        ...["--data", data, "--seq", "16", "--doc-stride", "8"],
        ...["--max-query-length", "4", "--batch", "8", "--lr", "3e-3"],
        ...["--epochs", "1", "--out", out, ...extra],
      );
    const ok = await run(files.data, "--max-train-samples", "24");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stderr,
      /split 0\.8: train: first 4 articles \(32 questions\); eval: last 1 articles \(8 questions\)/,
    );
    assert.match(ok.stderr, /training on 24 questions → 24 windows/);
    assert.match(
      ok.stderr,
      /gold check \(eval articles\): gold answers EM 100\.00 F1 100\.00/,
    );
    assert.match(
      ok.stderr,
      /finetune squad: step 3\/3 · loss \d\.\d{4} · \d+ tokens\/s/,
    );
    assert.match(ok.stderr, /epoch 1: step 3, train loss [\d.]+, eval EM/);
    const metrics = JSON.parse(
      await Deno.readTextFile(join(out, "metrics.json")),
    );
    assert.equal(metrics.split.train.articles, 4);
    assert.equal(metrics.split.train.questionsUsed, 24);
    assert.deepEqual(metrics.split.eval.titles, ["article 4"]);
    assert.equal(metrics.goldChecks.goldAnswers.exactMatch, 100);
    const predictions = JSON.parse(
      await Deno.readTextFile(join(out, "predictions.json")),
    );
    assert.equal(Object.keys(predictions).length, 8);
    assert.equal(
      metrics.history[0].dev.exact_match,
      JSON.parse(ok.stdout).eval.exact_match,
    );
    assert.equal((await loadCheckpoint(join(out, "checkpoint.bin"))).step, 3);
    assert.match(await Deno.readTextFile(join(out, "loss.svg")), /^<svg/);
    assert.ok((await Deno.stat(join(out, "model.onnx"))).size > 0);

    const bad = await run(files.bad);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^error: Bad data in .*bad\.json: it is not valid JSON/,
    );
    const missing = await run(join(dir, "nope.json"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Data file '.*nope\.json' cannot be read/);
    const split = await run(files.data, "--split", "1");
    assert.equal(split.code, 2);
    assert.match(split.stderr, /Option '--split' must be in \(0, 1\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task finetune --task squad takes the precision recipes, caps evaluation and re-scores a finished run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(dir, "tiny.onnx");
    const vocab = join(dir, "vocab.txt");
    const data = join(dir, "squad.json");
    await Deno.writeFile(model, tinyOnnx(3, SQUAD_CONFIG));
    await Deno.writeTextFile(vocab, SQUAD_VOCAB);
    await Deno.writeTextFile(data, syntheticSquad(5, 8));
    const out = join(dir, "run");
    const run = (...extra: string[]) =>
      runScript(
        CLI,
        ...["--task", "squad", "--model", model, "--vocab", vocab],
        ...["--data", data, "--seq", "16", "--doc-stride", "8"],
        ...["--max-query-length", "4", "--batch", "8", "--lr", "3e-3"],
        ...["--epochs", "1", "--max-train-samples", "16", "--out", out],
        ...extra,
      );
    const recipe = ["--precision", "int8-a2", "--gamma", "5"];
    const ok = await run(
      ...recipe,
      ...["--max-eval-samples", "5", "--dump-ir", join(dir, "ir")],
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /evaluating 5 questions → 5 windows/);
    const metrics = JSON.parse(
      await Deno.readTextFile(join(out, "metrics.json")),
    );
    assert.equal(metrics.task, "squad");
    assert.equal(metrics.precision, "int8-a2");
    assert.equal(metrics.options.recipe.gamma, 5);
    assert.equal(metrics.split.eval.questionsUsed, 5);
    assert.equal(metrics.split.eval.questions, 8, "the split itself is whole");
    const predictions = await Deno.readTextFile(join(out, "predictions.json"));
    assert.equal(Object.keys(JSON.parse(predictions)).length, 5);
    assert.deepEqual(
      [...Deno.readDirSync(join(dir, "ir"))].map((e) => e.name).sort(),
      ["001_bfp-quantize.ir", "002_outlier-tile.ir"],
    );

    // Resuming the finished run trains nothing but still scores the state.
    const again = await run(...recipe, "--max-eval-samples", "5", "--resume");
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /epoch 1: step 2, resumed at the last step: nothing to train, scored only, eval EM/,
    );
    assert.deepEqual(JSON.parse(again.stdout), JSON.parse(ok.stdout));
    const rescored = JSON.parse(
      await Deno.readTextFile(join(out, "metrics.json")),
    );
    assert.equal(rescored.history.length, 1);
    assert.deepEqual(rescored.history[0].dev, metrics.history[0].dev);
    assert.equal(rescored.history[0].trainLoss, null, "not trained again");
    assert.equal(
      await Deno.readTextFile(join(out, "predictions.json")),
      predictions,
    );

    const bad = await run("--precision", "int9");
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^error: Unknown precision recipe 'int9'; use one of: fp32, fp16, int8, int8-a1, int8-a2, int12, int16\./,
    );
    const gamma = await run("--precision", "int8", "--gamma", "0");
    assert.equal(gamma.code, 2);
    assert.equal(
      gamma.stderr.split("\n")[0],
      "error: The outlier threshold γ must be a finite number > 0, got 0 (gamma).",
    );
    const evalCap = await run("--max-eval-samples", "0");
    assert.equal(evalCap.code, 2);
    assert.match(evalCap.stderr, /'--max-eval-samples' must be a positive/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
