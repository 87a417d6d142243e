/**
 * The post-training quantisation comparison on fine-tuned models: every
 * strategy of `src/ptq/strategies.ts` applied to the fp32 fine-tuned model
 * of each task (`<runs>/<task>-fp32-s<run-seed>`), calibrated on
 * `--samples` training sentences per calibration seed and scored on the dev
 * set on the WASM engine; plus the int8-a2 fine-tuned model served int8
 * (the dev metric its run recorded with its int8 forward), and the
 * throughput of the served int8 model against ONNX Runtime's own dynamic
 * int8 quantisation of the same model.
 *
 * Every cell's result goes to `<out>/<task>-<strategy>-s<seed>.json` and
 * is skipped when that file exists, so the driver can be stopped and run
 * again. The table goes to `<out>/table.md` and, with `--results FILE`,
 * between the `<!-- ptq-table:start/end -->` markers there.
 *
 * Usage: `deno run -A bench/ptq.ts [--tasks sst2,mrpc,rte,cola,stsb]
 * [--strategies fp32,minmax-w8a8,…] [--seeds 1,2,3] [--samples 256]
 * [--runs runs/glue] [--out runs/ptq-table] [--results docs/RESULTS.md]
 * [--speed-task sst2] [--speed-runs 5] [--no-speed] [--report-only]`
 *
 * @module
 */

import { join } from "node:path";
import type { GlueTaskName } from "../runtime/data/glue_tasks.ts";
import { loadTokenizer } from "../runtime/data/read_file.ts";
import {
  formatOptions,
  type OptionSpec,
  parseCommand,
  UsageError,
} from "../src/cli/args.ts";
import { runMain } from "../src/cli/main.ts";
import { readSplit, resolveTask } from "../src/cli/task_options.ts";
import { Engine } from "../runtime/engine/mod.ts";
import { feedsFor } from "../src/analysis/model_feeds.ts";
import { importOnnxFile } from "../src/frontend/import_model.ts";
import { runPipeline } from "../src/passes/pipeline.ts";
import {
  cachedCompile,
  chooseSamples,
  type CompileFor,
  engineRunner,
} from "../src/ptq/calibrate.ts";
import {
  lengthSortedBatches,
  type ScoredBatch,
  scoreSplit,
} from "../src/ptq/dev_eval.ts";
import type { GlueExample } from "../runtime/data/glue.ts";
import type { BertTokenizer } from "../runtime/data/tokenizer.ts";
import { PtqError } from "../src/ptq/params.ts";
import {
  type FineTunedRun,
  loadFineTunedRun,
  servedGraph,
} from "../src/ptq/served_model.ts";
import {
  isCalibrated,
  parseStrategy,
  prepareStrategy,
  STRATEGIES,
  type Strategy,
} from "../src/ptq/strategies.ts";
import {
  calibrationTable,
  type CellResult,
  ptqTable,
} from "../src/ptq/table.ts";
import { ptqThroughput, readJson, taskSplits, VOCAB } from "./ptq_speed.ts";
import { list, publishTable } from "./runs.ts";

const OPTIONS: Record<string, OptionSpec> = {
  tasks: {
    kind: "string",
    value: "LIST",
    help: "GLUE tasks (default sst2,mrpc,rte,cola,stsb)",
  },
  strategies: {
    kind: "string",
    value: "LIST",
    help: `strategies (default all: ${STRATEGIES.join(",")})`,
  },
  seeds: { kind: "string", value: "LIST", help: "calibration seeds (1,2,3)" },
  samples: { kind: "int", value: "N", help: "calibration sentences (256)" },
  runs: {
    kind: "string",
    value: "DIR",
    help: "fine-tuning runs (default runs/glue)",
  },
  "run-seed": {
    kind: "int",
    value: "N",
    help: "seed of the fine-tuning runs used (default 1)",
  },
  out: {
    kind: "string",
    value: "DIR",
    help: "cell results (default runs/ptq-table)",
  },
  results: {
    kind: "string",
    value: "FILE",
    help: "Markdown file with <!-- ptq-table:start/end --> markers",
  },
  "speed-task": {
    kind: "string",
    value: "NAME",
    help: "task whose models the throughput runs (default sst2)",
  },
  "speed-runs": {
    kind: "int",
    value: "N",
    help: "timed batches per engine (default 5)",
  },
  "no-speed": { kind: "flag", help: "skip the throughput measurement" },
  "report-only": {
    kind: "flag",
    help: "write the table from the results so far; run nothing",
  },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno run -A bench/ptq.ts [options]

Post-training quantisation strategies on fine-tuned GLUE models, scored on
the dev sets, and inference throughput against ONNX Runtime.

Options:
${formatOptions(OPTIONS)}`;

/** The shape the fine-tuning runs exported `model.onnx` at. */
const EXPORT_BATCH = 32;
const EXPORT_SEQ = 128;

const ROW_LABELS: Record<string, string> = {
  "fp32": "FP32 (fine-tuned)",
  "minmax-w8a8": "MinMax W8A8",
  "minmax-w6a6": "MinMax W6A6",
  "os-w8a8": "OS W8A8",
  "os-w6a6": "OS W6A6",
  "llm-int8": "LLM.int8() (threshold 6)",
  "smoothquant-w8a8": "SmoothQuant W8A8 (α 0.5)",
  "int8-a2": "int8-a2 fine-tuned, served int8",
};

function seedList(text: string): number[] {
  const seeds = list(text).map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new UsageError(
      `--seeds must be positive integers, got '${text}'.`,
    );
  }
  return seeds;
}

const fmtTime = (s: number) =>
  s >= 3600
    ? `${(s / 3600).toFixed(1)} h`
    : s >= 60
    ? `${(s / 60).toFixed(0)} min`
    : `${s.toFixed(0)} s`;

/** One planned cell. */
interface Cell {
  readonly task: GlueTaskName;
  readonly strategy: Strategy;
  readonly seed: number;
  readonly file: string;
}

/** The max |Δlogit| of the served f32 graph vs the run's `model.onnx`. */
async function exportCheck(
  dir: string,
  run: FineTunedRun,
  feeds: ReturnType<typeof feedsFor>,
): Promise<number> {
  const exported = runPipeline(
    importOnnxFile(join(dir, "model.onnx")).graph,
    { batch: EXPORT_BATCH, seq: EXPORT_SEQ, dims: {} },
  );
  const served = servedGraph(run.spec, EXPORT_BATCH, EXPORT_SEQ);
  const a = (await Engine.create(exported)).run(feeds).get("logits")!.data;
  const b = (await Engine.create(served)).run(feeds).get("logits")!.data;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** What every cell of one task shares. */
interface TaskContext {
  readonly dev: GlueExample[];
  readonly train: GlueExample[];
  readonly devBatches: ScoredBatch[];
  readonly run: FineTunedRun;
  readonly f32: CompileFor;
}

/** Reads a task's splits and its fine-tuned fp32 run. */
async function taskContext(
  task: GlueTaskName,
  dir: string,
  tokenizer: BertTokenizer,
): Promise<TaskContext> {
  const files = taskSplits(task);
  const dev = await readSplit(files, "dev");
  const run = await loadFineTunedRun(dir);
  return {
    dev,
    train: await readSplit(files, "train"),
    devBatches: lengthSortedBatches(dev, tokenizer, 32, 128),
    run,
    f32: cachedCompile((b, s) => servedGraph(run.spec, b, s)),
  };
}

/** Runs the comparison; returns the exit code. */
async function ptqBench(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const o = args.options;
  const str = (name: string, fallback: string) =>
    (o.get(name) as string | undefined) ?? fallback;
  const tasks = list(str("tasks", "sst2,mrpc,rte,cola,stsb")).map(resolveTask);
  let strategies: Strategy[];
  try {
    strategies = list(str("strategies", STRATEGIES.join(","))).map(
      parseStrategy,
    );
  } catch (e) {
    throw e instanceof PtqError ? new UsageError(e.message) : e;
  }
  const seeds = seedList(str("seeds", "1,2,3"));
  const samples = (o.get("samples") as number | undefined) ?? 256;
  const runsDir = str("runs", "runs/glue");
  const runSeed = (o.get("run-seed") as number | undefined) ?? 1;
  const out = str("out", "runs/ptq-table");
  const results = o.get("results") as string | undefined;
  const key = (t: string) => t.toLowerCase().replace(/[^a-z0-9]/g, "");
  const runDir = (t: string, recipe: string) =>
    join(runsDir, `${key(t)}-${recipe}-s${runSeed}`);
  for (const t of tasks) {
    for (const recipe of ["fp32", "int8-a2"]) {
      if (readJson(join(runDir(t, recipe), "metrics.json")) === undefined) {
        throw new UsageError(
          `No finished run in '${
            runDir(t, recipe)
          }'; fine-tune it first (bench/glue.ts) or pass --runs.`,
        );
      }
    }
  }
  await Deno.mkdir(out, { recursive: true });
  const tokenizer = await loadTokenizer(VOCAB);

  const cells: Cell[] = tasks.flatMap((task) =>
    strategies.flatMap((strategy) =>
      (isCalibrated(strategy) ? seeds : [0]).map((seed) => ({
        task,
        strategy,
        seed,
        file: join(out, `${key(task)}-${strategy}-s${seed}.json`),
      }))
    )
  );
  // Seed-major: every row and task at the first seed before any second
  // seed, so an interrupted run still fills the whole table.
  const round = (c: Cell) => c.seed === 0 ? -1 : seeds.indexOf(c.seed);
  const reportOnly = o.get("report-only") === true;
  const todo = cells.filter((c) =>
    !reportOnly && readJson(c.file) === undefined
  ).sort((
    a,
    b,
  ) => round(a) - round(b));
  const finished = cells.filter((c) => readJson(c.file) !== undefined).length;
  console.error(
    `ptq: ${cells.length} cells, ${finished} done, ${todo.length} to run`,
  );
  const speed = o.get("no-speed") === true ? "" : await ptqThroughput(
    reportOnly,
    resolveTask(str("speed-task", "sst2")),
    runDir,
    out,
    (o.get("speed-runs") as number | undefined) ?? 5,
    tokenizer,
  );
  const started = performance.now();
  let done = 0;
  const contexts = new Map<GlueTaskName, Promise<TaskContext>>();
  const contextOf = (task: GlueTaskName) => {
    let c = contexts.get(task);
    if (c === undefined) {
      contexts.set(
        task,
        c = taskContext(task, runDir(task, "fp32"), tokenizer),
      );
    }
    return c;
  };
  for (const cell of todo) {
    const t0 = performance.now();
    const task = cell.task;
    const { dev, train, devBatches, run, f32 } = await contextOf(task);
    // Sorted by length, so calibration batches pad little (a --samples not
    // divisible by 16 repeats one sentence in the last batch).
    const calibration = isCalibrated(cell.strategy)
      ? lengthSortedBatches(
        chooseSamples(train.length, samples, cell.seed).map((i) => train[i]),
        tokenizer,
        16,
        128,
      ).map((b) => b.batch)
      : [];
    const prepared = await prepareStrategy(
      cell.strategy,
      f32,
      calibration,
      engineRunner,
    );
    const tCal = performance.now();
    const score = await scoreSplit(
      task,
      dev,
      devBatches,
      prepared.compile,
      engineRunner(),
    );
    let exportMaxDiff: number | undefined;
    if (cell.strategy === "fp32") {
      const fixed = lengthSortedBatches(
        dev.slice(0, EXPORT_BATCH),
        tokenizer,
        EXPORT_BATCH,
        EXPORT_SEQ,
        true,
      )[0].batch;
      exportMaxDiff = await exportCheck(
        runDir(task, "fp32"),
        run,
        feedsFor(f32(EXPORT_BATCH, EXPORT_SEQ), fixed),
      );
    }
    const seconds = (performance.now() - t0) / 1000;
    const result: CellResult & Record<string, unknown> = {
      task,
      row: cell.strategy,
      seed: cell.seed,
      metrics: score.metrics,
      calibration: prepared.calibration,
      calibrationSamples: isCalibrated(cell.strategy) ? samples : 0,
      model: join(runDir(task, "fp32"), "checkpoint.bin"),
      ...(exportMaxDiff === undefined ? {} : { exportMaxDiff }),
      seconds: {
        calibrate: (tCal - t0) / 1000,
        total: seconds,
      },
      date: new Date().toISOString(),
    };
    await Deno.writeTextFile(cell.file, JSON.stringify(result, null, 1));
    done++;
    const elapsed = (performance.now() - started) / 1000;
    const eta = (elapsed / done) * (todo.length - done);
    console.error(
      `[${done}/${todo.length}] ${task} ${cell.strategy} s${cell.seed}: ${
        Object.entries(score.metrics).map(([m, v]) =>
          `${m} ${(100 * v).toFixed(1)}`
        ).join(", ")
      }${
        prepared.calibration === undefined
          ? ""
          : ` (α ${prepared.calibration.alpha}, MSE ${
            prepared.calibration.mse.toExponential(2)
          })`
      } in ${fmtTime(seconds)}; ETA ${fmtTime(eta)}`,
    );
  }

  const cellResults = cells.map((c) => readJson<CellResult>(c.file)).filter((
    r,
  ): r is CellResult => r !== undefined);
  const finetuned: CellResult[] = [];
  for (const task of tasks) {
    const metrics = readJson<{ history: { dev: Record<string, number> }[] }>(
      join(runDir(task, "int8-a2"), "metrics.json"),
    )!;
    finetuned.push({
      task,
      row: "int8-a2",
      seed: 0,
      metrics: metrics.history[metrics.history.length - 1].dev,
    });
  }
  const rows = [...strategies, "int8-a2"].map((k) => ({
    key: k,
    label: ROW_LABELS[k],
  }));
  const table = ptqTable([...cellResults, ...finetuned], rows);

  const notes =
    `Cells: dev metric ×100, mean±std over the calibration seeds that ran (\`seeds\`: cells per task; ${samples} training sentences per seed); FP32 and LLM.int8() need no calibration and have one value. avg: mean over the tasks of each task's mean metric. The int8-a2 row is not re-evaluated: it is the last-epoch dev metric the int8-a2 fine-tuning run recorded in its metrics.json, which its int8 evaluation forward computed.\n`;
  const calibrated = calibrationTable(cellResults, rows);
  const text =
    `${table}\n${notes}\nLogits MSE vs f32 on the calibration set (mean over seeds) and the α chosen:\n\n${calibrated}\n${speed}`;
  await publishTable(`\n${text}`, out, "ptq-table", results);
  return 0;
}

if (import.meta.main) runMain(ptqBench, USAGE);
