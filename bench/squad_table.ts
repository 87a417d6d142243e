/**
 * The paper's Table 2 layout (Ghaffari et al., ICPRAM 2024: SQuAD v1.1)
 * from the `metrics.json` files of `finetune --task squad` runs: one row per
 * precision recipe, exact match and F1 (official v1.1 scorer, already in
 * percent) as mean ± standard deviation over seeds at the last epoch, then
 * training tokens/s and peak resident memory — the columns the paper lacks.
 * Row order, statistics and cost cells are the Table 1 layout's
 * (`glue_table.ts`).
 *
 * @module
 */

import { meanStdCell } from "../src/report/mean_std.ts";
import { costCells, recipeOrder, type RunMetrics } from "./glue_table.ts";

/** What the table needs of one SQuAD run's `metrics.json`. */
export interface SquadRunMetrics extends RunMetrics {
  /** Questions of the split; `questionsUsed` after `--max-*-samples`. */
  readonly split: {
    readonly train: { readonly questionsUsed: number };
    readonly eval: {
      readonly questions: number;
      readonly questionsUsed?: number;
    };
  };
}

/** The paper's row names for the recipes it has. */
const PAPER_ROWS: Readonly<Record<string, string>> = {
  fp32: "FP32",
  fp16: "FP16",
  int8: "INT8",
  "int8-a1": "INT8 + Approach 1",
  "int8-a2": "INT8 + Approach 2",
};

function rowName(recipe: string): string {
  const paper = PAPER_ROWS[recipe];
  return paper === undefined ? recipe : `${paper} (\`${recipe}\`)`;
}

function lastDev(run: RunMetrics): Record<string, number> | undefined {
  return run.history[run.history.length - 1]?.dev;
}

/** How many values of `xs`, as "a or b" when they differ. */
function counts(xs: readonly number[]): string {
  return [...new Set(xs)].sort((a, b) => a - b).join(" or ");
}

/**
 * The Table 2 layout as Markdown, with a caption saying how many seeds each
 * cell has and how many questions trained and were scored.
 */
export function squadTable(runs: readonly SquadRunMetrics[]): string {
  const header = ["recipe", "EM", "F1", "tokens/s", "peak RSS (MiB)"];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => i === 0 ? "---" : "---:").join("|")}|`,
  ];
  const seedCounts: number[] = [];
  for (const recipe of recipeOrder(runs)) {
    const mine = runs.filter((r) => r.precision === recipe);
    const devs = mine.map(lastDev).filter((d) => d !== undefined);
    seedCounts.push(devs.length);
    const score = (m: string) =>
      devs.length === 0 ? "—" : meanStdCell(devs.map((d) => d[m]), 1);
    lines.push(
      `| ${
        [rowName(recipe), score("exact_match"), score("f1"), ...costCells(mine)]
          .join(" | ")
      } |`,
    );
  }
  const scored = runs.map((r) =>
    r.split.eval.questionsUsed ?? r.split.eval.questions
  );
  const held = runs.map((r) => r.split.eval.questions);
  const trained = runs.map((r) => r.split.train.questionsUsed);
  const capped = scored.some((n, i) => n < held[i])
    ? ` — the first ${counts(scored)} of the ${
      counts(held)
    } held-out questions, in file order`
    : "";
  return `${lines.join("\n")}\n\nCells: mean±std over ${
    counts(seedCounts)
  } seed(s) of the last epoch's exact match and F1 (official v1.1 scorer, %) on ${
    counts(scored)
  } evaluation questions${capped}; ${
    counts(trained)
  } training questions per run; tokens/s: real (non-padding) training tokens per second, mean over epochs and runs.\n`;
}

/**
 * Every run, one row per recipe, one column per seed: the last epoch's
 * EM / F1, so no run hides behind a mean.
 */
export function squadRunsTable(runs: readonly SquadRunMetrics[]): string {
  const seeds = [...new Set(runs.map((r) => r.options.seed))].sort((a, b) =>
    a - b
  );
  const header = ["recipe", ...seeds.map((s) => `seed ${s} (EM / F1)`)];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => i === 0 ? "---" : "---:").join("|")}|`,
  ];
  for (const recipe of recipeOrder(runs)) {
    const cells = seeds.map((seed) => {
      const run = runs.find((r) =>
        r.precision === recipe && r.options.seed === seed
      );
      const dev = run === undefined ? undefined : lastDev(run);
      return dev === undefined
        ? "—"
        : `${dev.exact_match.toFixed(2)} / ${dev.f1.toFixed(2)}`;
    });
    lines.push(`| ${[rowName(recipe), ...cells].join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}
