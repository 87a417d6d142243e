/**
 * The paper's Table 1 layout (Ghaffari et al., ICPRAM 2024) from the
 * `metrics.json` files of fine-tuning runs: one row per precision recipe,
 * one column per GLUE task in the paper's order (tasks without runs are left
 * out), each cell the mean ± standard deviation over seeds of the task's GLUE
 * metrics at the last epoch, ×100; then the GLUE-style average, training
 * tokens/s and peak resident memory — the columns the paper lacks.
 *
 * @module
 */

import { meanStd, meanStdCell } from "../src/report/mean_std.ts";

/** What the table needs of one run's `metrics.json`. */
export interface RunMetrics {
  readonly task: string;
  readonly precision: string;
  readonly options: { readonly seed: number };
  readonly history: readonly {
    readonly dev: Record<string, number>;
    readonly tokensPerSecond: number;
  }[];
  /** Peak resident set of the run's process (bytes), where the OS tells it. */
  readonly peakResidentBytes?: number | null;
}

/** Paper column order, with the metrics GLUE scores each task by. */
export const TABLE_TASKS: readonly {
  task: string;
  label: string;
  metrics: readonly string[];
}[] = [
  { task: "STS-B", label: "STS-B (P/S)", metrics: ["pearson", "spearman"] },
  { task: "MNLI", label: "MNLI", metrics: ["accuracy"] },
  { task: "QNLI", label: "QNLI", metrics: ["accuracy"] },
  { task: "SST-2", label: "SST-2", metrics: ["accuracy"] },
  { task: "RTE", label: "RTE", metrics: ["accuracy"] },
  { task: "MRPC", label: "MRPC (acc/F1)", metrics: ["accuracy", "f1"] },
  { task: "CoLA", label: "CoLA (MCC)", metrics: ["mcc"] },
];

/** Recipe rows in the paper's order; others follow alphabetically. */
export const TABLE_RECIPES = ["fp32", "fp16", "int8", "int8-a1", "int8-a2"];

/** The recipes of `runs`, in the paper's row order, others alphabetically. */
export function recipeOrder(
  runs: readonly Pick<RunMetrics, "precision">[],
): string[] {
  const rank = (x: string) =>
    TABLE_RECIPES.includes(x) ? TABLE_RECIPES.indexOf(x) : 99;
  return [...new Set(runs.map((r) => r.precision))].sort((a, b) =>
    rank(a) - rank(b) || a.localeCompare(b)
  );
}

/**
 * The tokens/s (mean over the trained epochs of `runs`) and peak RSS (MiB,
 * the largest of `runs`) cells, "—" where nothing was measured. An epoch
 * only scored on resume (`scoredOnly`: null tokens/s) does not count.
 */
export function costCells(
  runs: readonly Pick<RunMetrics, "history" | "peakResidentBytes">[],
): [string, string] {
  const speeds = runs.flatMap((r) => r.history.map((h) => h.tokensPerSecond))
    .filter(Number.isFinite);
  const peaks = runs.map((r) => r.peakResidentBytes).filter((
    b,
  ): b is number => typeof b === "number");
  return [
    speeds.length === 0 ? "—" : meanStd(speeds)[0].toFixed(0),
    peaks.length === 0 ? "—" : (Math.max(...peaks) / 2 ** 20).toFixed(0),
  ];
}

/** The table as Markdown, with a line saying how many seeds each cell has. */
export function glueTable(runs: readonly RunMetrics[]): string {
  const tasks = TABLE_TASKS.filter((t) => runs.some((r) => r.task === t.task));
  const recipes = recipeOrder(runs);
  const header = [
    "recipe",
    ...tasks.map((t) => t.label),
    "avg",
    "tokens/s",
    "peak RSS (MiB)",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => i === 0 ? "---" : "---:").join("|")}|`,
  ];
  const seedCounts = new Set<number>();
  for (const recipe of recipes) {
    const mine = runs.filter((r) => r.precision === recipe);
    const cells: string[] = [];
    const taskScores: number[] = [];
    for (const t of tasks) {
      const last = mine.filter((r) => r.task === t.task).map((r) =>
        r.history[r.history.length - 1]?.dev
      ).filter((d) => d !== undefined);
      if (last.length === 0) {
        cells.push("—");
        continue;
      }
      seedCounts.add(last.length);
      cells.push(
        t.metrics.map((m) => meanStdCell(last.map((d) => d[m]))).join(" / "),
      );
      taskScores.push(
        meanStd(
          last.map((d) =>
            t.metrics.reduce((a, m) => a + d[m], 0) / t.metrics.length
          ),
        )[0],
      );
    }
    const average = taskScores.length === tasks.length
      ? (100 * meanStd(taskScores)[0]).toFixed(1)
      : "—";
    lines.push(
      `| ${[recipe, ...cells, average, ...costCells(mine)].join(" | ")} |`,
    );
  }
  const seeds = [...seedCounts].sort((a, b) => a - b).join(" or ");
  return `${
    lines.join("\n")
  }\n\nCells: mean±std over ${seeds} seed(s) of the last epoch's dev metric ×100; avg: mean over the tasks shown of each task's mean metric (a row with a missing task has none); tokens/s: real (non-padding) training tokens per second, mean over epochs and runs.\n`;
}

/**
 * Every run, one row per (task, recipe), one column per seed: the last
 * epoch's dev metrics ×100 (GLUE's, slash-separated), so no run hides
 * behind a mean.
 */
export function runsTable(runs: readonly RunMetrics[]): string {
  const seeds = [...new Set(runs.map((r) => r.options.seed))].sort((a, b) =>
    a - b
  );
  const header = ["task", "recipe", ...seeds.map((s) => `seed ${s}`)];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => i < 2 ? "---" : "---:").join("|")}|`,
  ];
  for (const t of TABLE_TASKS) {
    const mine = runs.filter((r) => r.task === t.task);
    const recipes = TABLE_RECIPES.filter((x) =>
      mine.some((r) => r.precision === x)
    );
    for (const recipe of recipes) {
      const cells = seeds.map((seed) => {
        const run = mine.find((r) =>
          r.precision === recipe && r.options.seed === seed
        );
        const dev = run?.history[run.history.length - 1]?.dev;
        return dev === undefined
          ? "—"
          : t.metrics.map((m) => (100 * dev[m]).toFixed(1)).join(" / ");
      });
      lines.push(`| ${[t.label, recipe, ...cells].join(" | ")} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}
