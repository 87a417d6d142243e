import assert from "node:assert/strict";
import {
  glueTable,
  type RunMetrics,
  runsTable,
} from "../../bench/glue_table.ts";

function run(
  task: string,
  precision: string,
  seed: number,
  dev: Record<string, number>,
  peak?: number,
): RunMetrics {
  return {
    task,
    precision,
    options: { seed },
    history: [
      { dev: { accuracy: 0, f1: 0, mcc: 0 }, tokensPerSecond: 100 },
      { dev, tokensPerSecond: 300 },
    ],
    peakResidentBytes: peak,
  };
}

Deno.test("the Table 1 layout averages seeds, orders rows and columns as the paper", () => {
  const table = glueTable([
    run("MRPC", "int8-a2", 1, { accuracy: 0.7, f1: 0.8 }, 2 ** 30),
    run("MRPC", "fp32", 1, { accuracy: 0.7, f1: 0.8 }),
    run("MRPC", "fp32", 2, { accuracy: 0.8, f1: 0.9 }, 2 ** 29),
    run("CoLA", "fp32", 1, { mcc: 0.1 }),
    run("CoLA", "fp32", 2, { mcc: 0.3 }),
  ]);
  const lines = table.split("\n");
  assert.equal(
    lines[0],
    "| recipe | MRPC (acc/F1) | CoLA (MCC) | avg | tokens/s | peak RSS (MiB) |",
  );
  // fp32 first (paper order), last epoch only, ±sample std over 2 seeds.
  assert.equal(
    lines[2],
    "| fp32 | 75.0±7.1 / 85.0±7.1 | 20.0±14.1 | 50.0 | 200 | 512 |",
  );
  // A recipe missing a task gets no average.
  assert.equal(lines[3], "| int8-a2 | 70.0 / 80.0 | — | — | 200 | 1024 |");
  assert.match(table, /mean±std over 1 or 2 seed\(s\)/);
});

Deno.test("the every-run table lists each run's last epoch by seed, a missing run as —", () => {
  const lines = runsTable([
    run("CoLA", "fp32", 2, { mcc: 0.3 }),
    run("MRPC", "int8-a2", 1, { accuracy: 0.7, f1: 0.8 }),
    run("MRPC", "fp32", 1, { accuracy: 0.7, f1: 0.8 }),
    run("CoLA", "fp32", 1, { mcc: 0.1 }),
  ]).split("\n");
  assert.equal(lines[0], "| task | recipe | seed 1 | seed 2 |");
  assert.equal(lines[2], "| MRPC (acc/F1) | fp32 | 70.0 / 80.0 | — |");
  assert.equal(lines[3], "| MRPC (acc/F1) | int8-a2 | 70.0 / 80.0 | — |");
  assert.equal(lines[4], "| CoLA (MCC) | fp32 | 10.0 | 30.0 |");
});
