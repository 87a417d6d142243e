/**
 * `deno task calibrate`: post-training calibration of a W{w}A{a} integer
 * model (Outlier Suppression setting). Picks `--samples` training sentences
 * by `--seed`, measures every linear-layer input in the reference executor,
 * chooses clipping ranges by MinMax or by Token-Wise Clipping's coarse α
 * search, optionally followed by its LSQ+ fine stage (`--lsq`), and writes
 * `DIR/quant_params.json` for `compile --infer`. `--gamma-migration` (the
 * rest of Outlier Suppression) or `--smooth-quant ALPHA` rewrite the graph
 * first; the params record which, so `compile --infer` does the same.
 *
 * @module
 */

import { join } from "node:path";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { FORWARD_PIPELINE, runPipeline } from "../passes/pipeline.ts";
import {
  cachedCompile,
  calibrate,
  calibrationBatches,
  chooseSamples,
  DEFAULT_SAMPLES,
  engineRunner,
  type Method,
  METHODS,
  referenceRunner,
} from "../ptq/calibrate.ts";
import { applyTransforms, measureTransforms } from "../ptq/transforms.ts";
import {
  PARAMS_FILE,
  parsePrecision,
  type Precision,
  PRECISIONS,
  PtqError,
} from "../ptq/params.ts";
import type { GlueSplit } from "../../runtime/data/glue_tasks.ts";
import {
  formatOptions,
  numberOption,
  type OptionSpec,
  parseCommand,
  UsageError,
} from "./args.ts";
import { LSQ_OPTIONS, parseLsqOptions, runFineStage } from "./lsq_options.ts";
import { runMain } from "./main.ts";
import {
  checkModelFile,
  readSplit,
  TASK_OPTIONS,
  taskFiles,
} from "./task_options.ts";

const OPTIONS: Record<string, OptionSpec> = {
  ...TASK_OPTIONS,
  split: {
    kind: "string",
    value: "NAME",
    help: "split the samples come from (default train)",
  },
  samples: {
    kind: "int",
    value: "N",
    help: `calibration sentences (default ${DEFAULT_SAMPLES})`,
  },
  seed: {
    kind: "int",
    value: "N",
    help: "seed of the sample choice (default 1)",
  },
  precision: {
    kind: "string",
    value: "NAME",
    help: `${PRECISIONS.join(", ")} or any w{2–16}a{2–16} (default w8a8)`,
  },
  method: {
    kind: "string",
    value: "NAME",
    help: `${METHODS.join(" or ")} (default minmax)`,
  },
  batch: { kind: "int", value: "N", help: "sentences per batch (default 16)" },
  "max-seq-length": {
    kind: "int",
    value: "N",
    help: "truncate longer inputs (default 128)",
  },
  "gamma-migration": {
    kind: "flag",
    help:
      "migrate every LayerNorm's γ into the next linears first (Outlier Suppression with --method token-clipping)",
  },
  "smooth-quant": {
    kind: "string",
    value: "ALPHA",
    help:
      "SmoothQuant first, with migration strength ALPHA in (0, 1) (the paper's 0.5)",
  },
  ...LSQ_OPTIONS,
  engine: {
    kind: "flag",
    help:
      "run the calibration passes on the WASM engine (faster) instead of the reference executor",
  },
  out: {
    kind: "string",
    value: "DIR",
    help: `where ${PARAMS_FILE} goes (required)`,
  },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task calibrate --task NAME --out DIR [options]

Post-training calibration: chooses --samples sentences of the split by --seed,
runs the f32 model on them in the reference executor and sets per-tensor
asymmetric activation ranges at every linear-layer input — MinMax, or
token-wise clipping (one global ratio α searched down from 1.0 in 0.01 steps,
10 candidates at ≥ 8 activation bits, 30 below, scored by the output MSE vs
f32), then with --lsq its fine stage: every quantiser's scale and offset
learned (LSQ+) against the f32 outputs, --lsq-epochs over the calibration set.
Weights are per-output-channel symmetric. --gamma-migration or --smooth-quant
rewrite the model first (recorded, so compile --infer repeats it). Writes
DIR/${PARAMS_FILE}.

Options:
${formatOptions(OPTIONS)}`;

/** Runs the calibrate command; returns the exit code. */
export async function calibrateCommand(
  argv: readonly string[],
): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const { options } = args;
  const out = options.get("out") as string | undefined;
  if (out === undefined) {
    throw new UsageError(
      "--out DIR is required (where quant_params.json goes).",
    );
  }
  const files = taskFiles(args);
  checkModelFile(files.model);
  let precision: Precision;
  try {
    precision = parsePrecision(
      (options.get("precision") as string | undefined) ?? "w8a8",
    );
  } catch (e) {
    throw e instanceof PtqError ? new UsageError(e.message) : e;
  }
  const method = (options.get("method") as string | undefined) ?? "minmax";
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new UsageError(
      `Unknown --method '${method}'; use ${METHODS.join(" or ")}.`,
    );
  }
  const smoothAlpha = options.has("smooth-quant")
    ? numberOption(
      args,
      "smooth-quant",
      0.5,
      (a) => a > 0 && a < 1,
      "in (0, 1)",
    )
    : undefined;
  const gammaMigration = options.get("gamma-migration") === true;
  if (gammaMigration && smoothAlpha !== undefined) {
    throw new UsageError(
      "--gamma-migration and --smooth-quant rewrite the same LayerNorms; choose one.",
    );
  }
  const samples = (options.get("samples") as number | undefined) ??
    DEFAULT_SAMPLES;
  const seed = (options.get("seed") as number | undefined) ?? 1;
  const lsq = parseLsqOptions(args, method, seed);
  const split = ((options.get("split") as string | undefined) ??
    "train") as GlueSplit;
  const examples = await readSplit(files, split);
  let indices: number[];
  try {
    indices = chooseSamples(examples.length, samples, seed);
  } catch (e) {
    throw e instanceof PtqError
      ? new UsageError(`${e.message} (${files.task} ${split})`)
      : e;
  }
  const tokenizer = await loadTokenizer(files.vocab);
  const batches = calibrationBatches(
    indices.map((i) => examples[i]),
    tokenizer,
    (options.get("batch") as number | undefined) ?? 16,
    (options.get("max-seq-length") as number | undefined) ?? 128,
  );
  const { graph } = importOnnxFile(files.model);
  const started = performance.now();
  const f32 = cachedCompile((batch: number, seq: number) =>
    runPipeline(graph, { batch, seq, dims: {} }, FORWARD_PIPELINE)
  );
  const runner = options.get("engine") === true ? engineRunner() : undefined;
  const transforms = await measureTransforms(
    f32,
    batches,
    options.get("engine") === true ? engineRunner() : referenceRunner,
    { gammaMigration, smoothAlpha },
  );
  const compile = (batch: number, seq: number) =>
    applyTransforms(f32(batch, seq), transforms);
  const coarse = await calibrate(
    compile,
    batches,
    precision,
    method as Method,
    {
      model: files.model,
      task: files.task,
      split,
      samples,
      seed,
      indices,
      runner: options.get("engine") === true ? "engine" : "reference",
    },
    (alpha, mse) =>
      console.error(
        `calibrate: α = ${alpha.toFixed(2)}  MSE ${mse.toExponential(4)}`,
      ),
    runner,
  );
  const params = {
    ...(lsq === undefined
      ? coarse
      : await runFineStage(compile, batches, coarse, lsq, runner)),
    ...(transforms === undefined ? {} : { transforms }),
  };
  await Deno.mkdir(out, { recursive: true });
  const file = join(out, PARAMS_FILE);
  await Deno.writeTextFile(file, JSON.stringify(params, null, 1) + "\n");
  console.log(
    `${precision.name} ${params.method} on ${samples} ${files.task} ${split} samples (seed ${seed}): ` +
      `α = ${params.alpha.toFixed(2)}, output MSE vs f32 ${
        params.mse.toExponential(4)
      }${
        lsq === undefined
          ? ""
          : ` (coarse stage ${coarse.mse.toExponential(4)})`
      } (${
        ((performance.now() - started) / 1000).toFixed(1)
      } s)\nwrote ${file}`,
  );
  return 0;
}

if (import.meta.main) runMain(calibrateCommand, USAGE);
