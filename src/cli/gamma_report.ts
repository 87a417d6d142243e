/**
 * `deno task gamma-report`: the activation ranges at every quantiser input
 * (linear-layer input) before and after Gamma Migration, on real sentences
 * in the reference executor — a markdown table, JSON and a picture (SVG,
 * and PNG when `rsvg-convert` is installed).
 *
 * @module
 */

import { join } from "node:path";
import {
  formatRangeTable,
  type InputRange,
  measureRanges,
} from "../analysis/activation_ranges.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import type { Graph } from "../ir/graph.ts";
import {
  DEFAULT_GAMMA_GUARD,
  type GammaMigration,
  migrateGamma,
} from "../passes/gamma_migration.ts";
import { FORWARD_PIPELINE, runPipeline } from "../passes/pipeline.ts";
import { groupedBarChart } from "../report/svg_chart.ts";
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
  ...SENTENCE_OPTIONS,
  guard: {
    kind: "string",
    value: "X",
    help:
      `channels with |γ_j| < X·max|γ| keep γ in the LayerNorm (default ${DEFAULT_GAMMA_GUARD})`,
  },
  out: {
    kind: "string",
    value: "DIR",
    help:
      "where gamma_migration.{json,svg,png} go (default runs/gamma-migration)",
  },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task gamma-report [options]

Runs the model on real sentences in the reference executor, as imported and
after Gamma Migration (Outlier Suppression), and reports max |x| and the
99.99th percentile of |x| (real tokens only) at every linear-layer input.

Options:
${formatOptions(OPTIONS)}`;

/** The picture: max and p99.99 per input, before and after. */
function picture(
  before: readonly InputRange[],
  after: readonly InputRange[],
  sentences: number,
): string {
  const labels = before.map((r) =>
    r.layer < 0 ? r.role : `L${r.layer} ${r.role}`
  );
  const matched = before.map((b) => after.find((a) => a.value === b.value)!);
  return groupedBarChart(
    `|x| at the quantiser inputs before/after gamma migration (${sentences} sentences)`,
    "|x|",
    labels,
    [
      {
        name: "max before",
        values: before.map((r) => r.maxAbs),
        color: "#3366cc",
      },
      {
        name: "max after",
        values: matched.map((r) => r.maxAbs),
        color: "#dc3912",
      },
      {
        name: "p99.99 before",
        values: before.map((r) => r.p9999),
        color: "#9db8e8",
      },
      {
        name: "p99.99 after",
        values: matched.map((r) => r.p9999),
        color: "#f0a08c",
      },
    ],
  );
}

/** Renders `svg` to `png` with rsvg-convert; false when it is not installed. */
async function toPng(svg: string, png: string): Promise<boolean> {
  try {
    const { success, stderr } = await new Deno.Command("rsvg-convert", {
      args: ["-o", png, svg],
      stderr: "piped",
    }).output();
    if (!success) throw new Error(new TextDecoder().decode(stderr));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** One line per LayerNorm: migrated (and guarded channels) or skipped (and why). */
function formatNotes(migration: GammaMigration): string {
  return [
    ...migration.migrated.map((m) =>
      `migrated ${m.layerNorm} → ${m.linears.length} linear(s) + shortcut` +
      (m.guarded > 0 ? ` (${m.guarded} channels guarded)` : "")
    ),
    ...migration.skipped.map((s) => `skipped ${s.layerNorm}: ${s.reason}`),
  ].join("\n");
}

/** Runs the gamma-report command; returns the exit code. */
export async function gammaReportCommand(
  argv: readonly string[],
): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const files = taskFiles(args, { task: "sst2" });
  checkModelFile(files.model);
  const guard = numberOption(
    args,
    "guard",
    DEFAULT_GAMMA_GUARD,
    (x) => x >= 0 && x < 1,
    "a number in [0, 1)",
  );
  const out = (args.options.get("out") as string | undefined) ??
    "runs/gamma-migration";
  const { split, batches } = await sentenceBatches(args, files);
  const { graph } = importOnnxFile(files.model);
  const fused = (batch: number, seq: number) =>
    runPipeline(graph, { batch, seq, dims: {} }, FORWARD_PIPELINE);
  let migration: GammaMigration | undefined;
  const migrated = (batch: number, seq: number): Graph => {
    migration = migrateGamma(fused(batch, seq), guard);
    return migration.graph;
  };
  const ranges = [fused, migrated].map((compile, i) => {
    const progress = new Progress(
      `gamma-report: ${i === 0 ? "before" : "after"}, batch`,
      batches.length,
      "tokens",
    );
    return measureRanges(
      compile,
      batches,
      (done, tokens) => progress.report(done, tokens),
    );
  });
  const [before, after] = ranges;
  const sentences = batches.reduce((n, b) => n + b.batchSize, 0);
  await Deno.mkdir(out, { recursive: true });
  const svg = join(out, "gamma_migration.svg");
  await Deno.writeTextFile(svg, picture(before, after, sentences));
  const png = await toPng(svg, join(out, "gamma_migration.png"));
  await Deno.writeTextFile(
    join(out, "gamma_migration.json"),
    JSON.stringify(
      {
        model: files.model,
        task: files.task,
        split,
        sentences,
        guard,
        before,
        after,
      },
      null,
      1,
    ),
  );
  console.log(
    `${files.model} on ${sentences} ${files.task} ${split} sentences, guard ${guard}\n`,
  );
  console.log(formatNotes(migration!));
  console.log(`\n${formatRangeTable(before, after)}`);
  console.log(
    `\nwrote ${svg}${
      png ? ", gamma_migration.png" : " (no rsvg-convert: no PNG)"
    }, gamma_migration.json`,
  );
  return 0;
}

if (import.meta.main) runMain(gammaReportCommand, USAGE);
