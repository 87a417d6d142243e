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
