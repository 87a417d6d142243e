import assert from "node:assert/strict";
import { runScript } from "../run_script.ts";
import { join } from "node:path";
import { padBatch } from "../../runtime/data/encoding.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { engineRunner } from "../../src/analysis/graph_runner.ts";
import { measureOutliers } from "../../src/analysis/outlier_report.ts";
import {
  HISTOGRAM_EDGES,
  OutlierStats,
} from "../../src/analysis/outlier_stats.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { SHARED } from "../models/model_inputs.ts";

Deno.test("outlier statistics count |x| > γ by channel and token, padding apart, flag |k| > 127", () => {
  const stats = new OutlierStats(4, 5);
  const rows = [
    [0.5, -6, 0, 5], // one outlier (−6); 5 is not above γ
    [1300, 2, -1276, 4], // two outliers, both beyond 255γ = 1275
    [99, 99, 99, 99], // padding: counted apart
  ].flat();
  stats.add(rows, (r) => (r === 2 ? undefined : [101, 7][r]));
  assert.equal(stats.elements, 8);
  assert.equal(stats.outliers, 3);
  assert.equal(stats.fraction, 3 / 8);
  assert.equal(stats.maxAbs, 1300);
  assert.equal(stats.kOverflow, 2);
  assert.deepEqual([
    stats.paddingElements,
    stats.paddingOutliers,
    stats.paddingMaxAbs,
  ], [4, 4, 99]);
  assert.deepEqual(stats.topChannels(5), [{ channel: 0, count: 1 }, {
    channel: 1,
    count: 1,
  }, { channel: 2, count: 1 }]);
  assert.deepEqual(stats.topTokens(5), [{ token: 7, count: 2 }, {
    token: 101,
    count: 1,
  }]);
  // |x| = 0.5 lies in [10^-0.5, 10^0) — bin 14; zeros go to bin 0.
  assert.ok(HISTOGRAM_EDGES[14] <= 0.5 && 0.5 < HISTOGRAM_EDGES[15]);
  assert.equal(stats.histogram[14], 1);
  assert.equal(stats.histogram[0], 1);
  assert.equal(stats.histogram.reduce((a, b) => a + b, 0), 8);
});

Deno.test("the report covers every linear-layer input of a real model", async () => {
  const model = join(SHARED, "models/bert-tiny-random/model.onnx");
  const tokenizer = await loadTokenizer(
    join(SHARED, "models/bert-tiny-random/vocab.txt"),
  );
  const rows = ["a gripping, funny film.", "it is not good at all"].map((s) =>
    tokenizer.encode(s, undefined, {})
  );
  const batch = padBatch(rows, 16, tokenizer.vocab.special.pad);
  const tokens = batch.attentionMask.reduce((a, b) => a + b, 0);
  const graph = importOnnxFile(model).graph;
  const report = await measureOutliers(graph, [batch], tokenizer.vocab, 0.5);
  const roles = report.inputs.map((r) => `${r.layer} ${r.role}`);
  assert.deepEqual(roles, [
    "0 qkv",
    "0 attention-output",
    "0 ffn1",
    "0 ffn2",
    "1 qkv",
    "1 attention-output",
    "1 ffn1",
    "1 ffn2",
    "-1 pooler",
    "-1 classifier",
  ]);
  assert.equal(report.tokens, tokens);
  const ffn2 = report.inputs[3];
  assert.equal(ffn2.elements, tokens * 512, "padding rows are left out");
  assert.equal(
    report.inputs[8].elements,
    2 * 128,
    "the pooler sees one row per sentence",
  );
  assert.ok(
    report.inputs.some((r) => r.outlierFraction > 0 && r.topTokens.length > 0),
  );
  // The engine (f32) gives the oracle's (f64) report.
  const fast = await measureOutliers(
    graph,
    [batch],
    tokenizer.vocab,
    0.5,
    undefined,
    engineRunner(),
  );
  fast.inputs.forEach((r, i) => {
    const want = report.inputs[i];
    assert.equal(r.value, want.value);
    assert.equal(r.elements, want.elements);
    assert.equal(r.outlierFraction, want.outlierFraction, r.value);
    assert.deepEqual(r.topChannels, want.topChannels);
    assert.ok(
      Math.abs(r.maxAbs - want.maxAbs) <= 1e-5 * want.maxAbs,
      `${r.value}: max ${r.maxAbs} vs ${want.maxAbs}`,
    );
  });
});

Deno.test("deno task outliers writes the report and pictures; bad options are refused", async () => {
  const out = await Deno.makeTempDir();
  const cli = new URL("../../src/cli/outliers.ts", import.meta.url);
  const run = (...args: string[]) => runScript(cli, ...args);
  try {
    const model = join(SHARED, "models/bert-tiny-random/model.onnx");
    const ok = await run(
      "--model",
      model,
      "--samples",
      "4",
      "--batch",
      "4",
      "--out",
      out,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /\| 0 \| qkv \|/);
    assert.match(
      ok.stderr,
      /outliers: batch 1\/1 .* tokens\/s .* ETA/,
    );
    const json = JSON.parse(await Deno.readTextFile(join(out, "report.json")));
    assert.equal(json.inputs.length, 10);
    assert.match(await Deno.readTextFile(join(out, "histogram.svg")), /^<svg/);
    const bad = await run("--model", model, "--gamma", "-1");
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^error: Option '--gamma' must be a number > 0/,
    );
    const task = await run("--task", "nope");
    assert.match(task.stderr, /Unknown task 'nope'/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
