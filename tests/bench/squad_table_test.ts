import assert from "node:assert/strict";
import {
  type SquadRunMetrics,
  squadRunsTable,
  squadTable,
} from "../../bench/squad_table.ts";

function run(
  precision: string,
  seed: number,
  exact_match: number,
  f1: number,
  peak?: number,
): SquadRunMetrics {
  return {
    task: "squad",
    precision,
    options: { seed },
    split: {
      train: { questionsUsed: 1024 },
      eval: { questions: 1988, questionsUsed: 500 },
    },
    history: [
      { dev: { exact_match, f1 }, tokensPerSecond: 600 },
      // A finished run resumed: scored only, no throughput (null in JSON).
      { dev: { exact_match, f1 }, tokensPerSecond: NaN },
    ],
    peakResidentBytes: peak,
  };
}

Deno.test("the Table 2 layout averages EM/F1 over seeds in the paper's row order and says what was scored", () => {
  const table = squadTable([
    run("int8-a2", 1, 1, 10, 2 ** 30),
    run("fp32", 1, 2, 8, 2 ** 29),
    run("fp32", 2, 4, 12),
    run("int12", 1, 0, 5),
  ]);
  const lines = table.split("\n");
  assert.equal(lines[0], "| recipe | EM | F1 | tokens/s | peak RSS (MiB) |");
  // Scores are already percent: no ×100; ± is the sample std over 2 seeds.
  assert.equal(lines[2], "| FP32 (`fp32`) | 3.0±1.4 | 10.0±2.8 | 600 | 512 |");
  assert.equal(
    lines[3],
    "| INT8 + Approach 2 (`int8-a2`) | 1.0 | 10.0 | 600 | 1024 |",
  );
  assert.equal(lines[4], "| int12 | 0.0 | 5.0 | 600 | — |");
  assert.match(
    table,
    /over 1 or 2 seed\(s\) .* on 500 evaluation questions — the first 500 of the 1988 held-out questions, in file order; 1024 training questions per run/,
  );
});

Deno.test("the every-run SQuAD table lists EM / F1 by seed, a missing run as —", () => {
  const lines = squadRunsTable([
    run("fp32", 2, 4, 12),
    run("int8", 1, 0.5, 9.25),
    run("fp32", 1, 2, 8),
  ]).split("\n");
  assert.equal(lines[0], "| recipe | seed 1 (EM / F1) | seed 2 (EM / F1) |");
  assert.equal(lines[2], "| FP32 (`fp32`) | 2.00 / 8.00 | 4.00 / 12.00 |");
  assert.equal(lines[3], "| INT8 (`int8`) | 0.50 / 9.25 | — |");
});
