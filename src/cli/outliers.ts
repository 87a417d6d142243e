/**
 * `deno task outliers`: the outlier report of a model on real sentences — a
 * table, JSON, and two pictures (per-layer outlier fraction; |x| histogram).
 *
 * @module
 */

import { join } from "node:path";
import {
  formatReport,
  measureOutliers,
  type OutlierReport,
} from "../analysis/outlier_report.ts";
import { engineRunner, referenceRunner } from "../analysis/graph_runner.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { logBarChart, logHistogram } from "../report/svg_chart.ts";
import {
  formatOptions,
  numberOption,
  type OptionSpec,
  parseCommand,
} from "./args.ts";
import { runMain } from "./main.ts";
import { Progress } from "./progress.ts";
import { SENTENCE_OPTIONS, sentenceBatches } from "./sentence_batches.ts";
import { checkModelFile, TASK_OPTIONS, taskFiles } from "./task_options.ts";

const OPTIONS: Record<string, OptionSpec> = {
  ...TASK_OPTIONS,
  vocab: {
    kind: "string",
    value: "FILE",
    help: "vocab.txt (default: beside the model)",
  },
  ...SENTENCE_OPTIONS,
  gamma: {
    kind: "string",
    value: "X",
    help: "outlier threshold γ > 0 (default 5)",
  },
  out: {
    kind: "string",
    value: "DIR",
    help: "where report.json and the pictures go (default runs/outliers)",
  },
  reference: {
    kind: "flag",
    help:
      "run on the double-precision reference executor (the oracle; ~100× slower) instead of the WASM engine",
  },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task outliers [options]

Runs the model on real sentences on the WASM engine and reports, for
every linear-layer input, the fraction of activations with |x| > γ, max |x|,
the channels and tokens that carry them, and |k| > 127 events of Approach 2.

Options:
${formatOptions(OPTIONS)}`;

async function writePictures(
  report: OutlierReport,
  out: string,
): Promise<void> {
  const labels = report.inputs.map((
    r,
  ) => (r.layer < 0 ? r.role : `L${r.layer} ${r.role}`));
  await Deno.writeTextFile(
    join(out, "outliers_per_layer.svg"),
    logBarChart(
      `Fraction of linear-layer inputs with |x| > ${report.gamma} (${report.sentences} sentences)`,
      "outlier fraction",
      labels,
      report.inputs.map((r) => r.outlierFraction),
    ),
  );
  await Deno.writeTextFile(
    join(out, "histogram.svg"),
    logHistogram(
      "|x| at linear-layer inputs",
      "|x|",
      report.histogramEdges,
      report.inputs.map((r, i) => ({ name: labels[i], counts: r.histogram })),
      [{ x: report.gamma, label: `γ = ${report.gamma}` }],
    ),
  );
}

/** Runs the outliers command; returns the exit code. */
export async function outliersCommand(
  argv: readonly string[],
): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const { options } = args;
  const files = taskFiles(args, { task: "sst2" });
  checkModelFile(files.model);
  const gamma = numberOption(args, "gamma", 5, (x) => x > 0, "a number > 0");
  const out = (options.get("out") as string | undefined) ?? "runs/outliers";
  const { split, vocab, batches } = await sentenceBatches(args, files);
  const { graph } = importOnnxFile(files.model);
  const progress = new Progress("outliers: batch", batches.length, "tokens");
  const report = await measureOutliers(
    graph,
    batches,
    vocab,
    gamma,
    (done, _, tokens) => progress.report(done, tokens),
    options.get("reference") === true ? referenceRunner : engineRunner(),
  );
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeTextFile(
    join(out, "report.json"),
    JSON.stringify(
      { model: files.model, task: files.task, split, ...report },
      null,
      1,
    ),
  );
  await writePictures(report, out);
  console.log(
    `${files.model} on ${report.sentences} ${files.task} ${split} sentences (${report.tokens} tokens), γ = ${gamma}\n`,
  );
  console.log(formatReport(report));
  console.log(
    `\nwrote ${
      join(out, "report.json")
    }, outliers_per_layer.svg, histogram.svg`,
  );
  return 0;
}

if (import.meta.main) runMain(outliersCommand, USAGE);
