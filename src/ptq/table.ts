/**
 * The post-training quantisation comparison table: one row per strategy,
 * one column per GLUE task, each cell the mean ± standard deviation over
 * calibration seeds of the task's dev metrics ×100, then the GLUE-style
 * average (the mean over tasks of each task's mean metric) and how many
 * seeds the row's cells hold (a range when an interrupted run left some
 * cells short).
 *
 * @module
 */

import { meanStd, meanStdCell } from "../report/mean_std.ts";

/** One scored (task, row, seed) cell. */
export interface CellResult {
  /** GLUE task name (`SST-2`, …). */
  readonly task: string;
  /** Table row key (a strategy name, or another row's key). */
  readonly row: string;
  /** Calibration seed, or 0 where the row has none. */
  readonly seed: number;
  /** Dev metrics as fractions. */
  readonly metrics: Readonly<Record<string, number>>;
  /** What calibration chose: α and the logits MSE vs f32, if it ran. */
  readonly calibration?: { readonly alpha: number; readonly mse: number };
}

/** The table's columns, in order, with the metrics GLUE scores each by. */
export const PTQ_TASKS: readonly {
  task: string;
  label: string;
  metrics: readonly string[];
}[] = [
  { task: "SST-2", label: "SST-2", metrics: ["accuracy"] },
  { task: "MRPC", label: "MRPC (acc/F1)", metrics: ["accuracy", "f1"] },
  { task: "RTE", label: "RTE", metrics: ["accuracy"] },
  { task: "CoLA", label: "CoLA (MCC)", metrics: ["mcc"] },
  { task: "STS-B", label: "STS-B (P/S)", metrics: ["pearson", "spearman"] },
];

/**
 * The table as Markdown for `rows` (key and label, in order) over the
 * tasks that have any result; a missing cell is "—" and a row missing a
 * task has no average.
 */
export function ptqTable(
  results: readonly CellResult[],
  rows: readonly { key: string; label: string }[],
): string {
  const tasks = PTQ_TASKS.filter((t) => results.some((r) => r.task === t.task));
  const header = ["strategy", ...tasks.map((t) => t.label), "avg", "seeds"];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => i === 0 ? "---" : "---:").join("|")}|`,
  ];
  for (const { key, label } of rows) {
    const cells: string[] = [];
    const scores: number[] = [];
    const counts: number[] = [];
    for (const t of tasks) {
      const mine = results.filter((r) => r.task === t.task && r.row === key);
      counts.push(mine.length);
      if (mine.length === 0) {
        cells.push("—");
        continue;
      }
      cells.push(
        t.metrics.map((m) => meanStdCell(mine.map((r) => r.metrics[m]))).join(
          " / ",
        ),
      );
      scores.push(
        meanStd(
          mine.map((r) =>
            t.metrics.reduce((a, m) => a + r.metrics[m], 0) / t.metrics.length
          ),
        )[0],
      );
    }
    const avg = scores.length === tasks.length && tasks.length > 0
      ? (100 * meanStd(scores)[0]).toFixed(1)
      : "—";
    const lo = Math.min(...counts), hi = Math.max(...counts);
    const seeds = lo === hi ? `${lo}` : `${lo}–${hi}`;
    lines.push(`| ${[label, ...cells, avg, seeds].join(" | ")} |`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The calibration side of the comparison: per calibrated row and task, the
 * logits MSE vs f32 on the calibration set (mean over seeds) and the α
 * chosen (1 for MinMax) — what separates strategies whose dev metrics tie.
 */
export function calibrationTable(
  results: readonly CellResult[],
  rows: readonly { key: string; label: string }[],
): string {
  const tasks = PTQ_TASKS.filter((t) => results.some((r) => r.task === t.task));
  const header = ["strategy", ...tasks.map((t) => t.task)];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => i === 0 ? "---" : "---:").join("|")}|`,
  ];
  for (const { key, label } of rows) {
    const cells = tasks.map((t) => {
      const c = results.filter((r) => r.task === t.task && r.row === key)
        .flatMap((r) => r.calibration === undefined ? [] : [r.calibration]);
      if (c.length === 0) return "—";
      const mse = meanStd(c.map((x) => x.mse))[0].toExponential(2);
      const alphas = c.map((x) => x.alpha);
      const lo = Math.min(...alphas), hi = Math.max(...alphas);
      return `${mse} (α ${
        lo === hi ? lo.toFixed(2) : `${lo.toFixed(2)}–${hi.toFixed(2)}`
      })`;
    });
    if (cells.some((c) => c !== "—")) {
      lines.push(`| ${[label, ...cells].join(" | ")} |`);
    }
  }
  return lines.join("\n") + "\n";
}
