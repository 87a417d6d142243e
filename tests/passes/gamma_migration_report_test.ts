/**
 * The gamma-migration report: range statistics (max and a quantile of |x|,
 * padding apart), the before/after table and picture, and the command.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  formatRangeTable,
  type InputRange,
  RangeStats,
} from "../../src/analysis/activation_ranges.ts";
import { groupedBarChart } from "../../src/report/svg_chart.ts";
import { rng } from "../ir/random_graph.ts";
import { SHARED } from "../models/model_inputs.ts";
import { runScript } from "../run_script.ts";

Deno.test("range statistics: exact max, quantile within one bin above the true one, padding apart", () => {
  const next = rng(9);
  const width = 50;
  const rows = 4000;
  const data = Float32Array.from(
    { length: width * rows },
    () => (next() < 0.5 ? -1 : 1) * 10 ** (6 * next() - 4),
  );
  // Every 10th row is padding, and carries a value bigger than any other.
  for (let r = 0; r < rows; r += 10) data[r * width] = 1e5;
  const kept = [...data].filter((_, i) => Math.floor(i / width) % 10 !== 0)
    .map(Math.abs).sort((a, b) => a - b);
  const stats = new RangeStats();
  stats.add(data, width, (row) => row % 10 !== 0);
  assert.equal(stats.elements, kept.length);
  assert.equal(stats.maxAbs, kept[kept.length - 1]);
  for (const q of [0.5, 0.99, 0.9999]) {
    const exact = kept[Math.ceil(q * kept.length) - 1];
    const got = stats.quantile(q);
    assert.ok(
      got >= exact && got <= exact * 1.0024,
      `q ${q}: ${got} vs ${exact}`,
    );
  }
  assert.equal(stats.quantile(1), stats.maxAbs);
});

const range = (
  layer: number,
  role: string,
  maxAbs: number,
  p9999: number,
): InputRange => ({
  value: `${layer}/${role}`,
  layer,
  role,
  nodes: [],
  elements: 10,
  maxAbs,
  p9999,
});

Deno.test("the range table pairs inputs by value and gives after/before ratios", () => {
  const table = formatRangeTable(
    [range(0, "qkv", 8, 4), range(-1, "pooler", 2, 0)],
    [range(-1, "pooler", 2, 0), range(0, "qkv", 6, 5)],
  ).split("\n");
  assert.equal(table.length, 4);
  assert.equal(
    table[2],
    "| 0 | qkv | 8.00 | 6.00 | 0.750 | 4.00 | 5.00 | 1.250 |",
  );
  assert.equal(
    table[3],
    "| – | pooler | 2.00 | 2.00 | 1.000 | 0.00 | 0.00 | – |",
  );
});

Deno.test("the grouped bar chart draws one bar per label and series, scaled to the largest", () => {
  const svg = groupedBarChart("t", "|x|", ["a", "b", "c"], [
    { name: "before", values: [1, 2, 4] },
    { name: "after", values: [1, 1, 2], color: "#123456" },
  ]);
  assert.match(svg, /^<svg/);
  assert.equal(svg.match(/<rect [^>]*><title>/g)?.length, 6);
  assert.match(svg, /<title>c before: 4\.000<\/title>/);
  assert.equal(svg.match(/fill="#123456"/g)?.length, 4, "3 bars + legend");
});

Deno.test("deno task gamma-report writes the table, JSON and pictures; bad options are refused", async () => {
  const out = await Deno.makeTempDir();
  const cli = new URL("../../src/cli/gamma_report.ts", import.meta.url);
  const model = join(SHARED, "models/bert-tiny-random/model.onnx");
  try {
    const ok = await runScript(
      cli,
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
    assert.match(ok.stdout, /\| 0 \| qkv \| [\d.]+ \| [\d.]+ \| 1\.000 \|/);
    assert.match(
      ok.stdout,
      /migrated \/bert\/embeddings\/LayerNorm\/LayerNormalization → 3 linear/,
    );
    assert.match(
      ok.stdout,
      /skipped \/bert\/encoder\/layer\.1\/output\/LayerNorm\/LayerNormalization: no residual Add/,
    );
    assert.match(ok.stderr, /gamma-report: after, batch 1\/1/);
    const json = JSON.parse(
      await Deno.readTextFile(join(out, "gamma_migration.json")),
    );
    assert.equal(json.before.length, 10);
    assert.equal(json.after.length, 10);
    assert.match(
      await Deno.readTextFile(join(out, "gamma_migration.svg")),
      /^<svg/,
    );
    const bad = await runScript(cli, "--model", model, "--guard", "2");
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^error: Option '--guard' must be a number in \[0, 1\)/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
