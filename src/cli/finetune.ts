/**
 * `deno task finetune`: fine-tunes an ONNX encoder on a GLUE task with a
 * progress line, dev metrics after every epoch, atomic checkpoints and
 * `--resume`, and writes metrics.json plus a loss-curve picture. Option names
 * follow Hugging Face's run_glue.py where they mean the same.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { parseGlue } from "../../runtime/data/glue.ts";
import { GLUE_TASKS } from "../../runtime/data/glue_tasks.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { exportOnnx } from "../export/onnx_export.ts";
import { fineTune } from "../finetune/fine_tune.ts";
import { servingGraph } from "../finetune/serving_graph.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { lineChart } from "../report/svg_chart.ts";
import { loadCheckpoint, saveCheckpoint } from "../training/checkpoint_file.ts";
import {
  formatOptions,
  type OptionSpec,
  parseArgs,
  UsageError,
} from "./args.ts";
import { DEFAULT_MODEL } from "./compile.ts";
import { runMain } from "./main.ts";
import { resolveTask } from "./outliers.ts";
import { Progress } from "./progress.ts";

/** Precision recipes this build can train; the integer ones come with the integer-recipes work. */
const PRECISIONS = ["fp32"];

const OPTIONS: Record<string, OptionSpec> = {
  model: {
    kind: "string",
    value: "FILE",
    help: `ONNX encoder (default ${DEFAULT_MODEL})`,
  },
  task: {
    kind: "string",
    value: "NAME",
    help: "GLUE task: sst2, cola, mrpc, stsb, rte, … (required)",
  },
  data: {
    kind: "string",
    value: "DIR",
    help:
      "the task's folder with train.tsv and dev.tsv (default ../shared/data/<TASK>)",
  },
  vocab: {
    kind: "string",
    value: "FILE",
    help: "vocab.txt (default: beside the model)",
  },
  precision: {
    kind: "string",
    value: "NAME",
    help: `precision recipe: ${PRECISIONS.join(", ")} (default fp32)`,
  },
  epochs: { kind: "int", value: "N", help: "num_train_epochs (default 3)" },
  lr: {
    kind: "string",
    value: "X",
    help: "learning_rate, the peak of the linear schedule (default 2e-5)",
  },
  batch: { kind: "int", value: "N", help: "per-step batch size (default 32)" },
  seq: { kind: "int", value: "N", help: "max_seq_length (default 128)" },
  "warmup-ratio": {
    kind: "string",
    value: "X",
    help: "warmup_ratio in [0, 1) (default 0)",
  },
  "weight-decay": {
    kind: "string",
    value: "X",
    help: "weight_decay ≥ 0 (default 0)",
  },
  seed: { kind: "int", value: "N", help: "seed (default 1)" },
  "save-steps": {
    kind: "int",
    value: "N",
    help: "also checkpoint every N steps (default: at epoch ends)",
  },
  out: {
    kind: "string",
    value: "DIR",
    help:
      "output_dir: checkpoint.bin, metrics.json, loss.svg, model.onnx (required)",
  },
  resume: { kind: "flag", help: "continue from <out>/checkpoint.bin" },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task finetune --task NAME --out DIR [options]

Fine-tunes an ONNX BERT encoder on a GLUE task, evaluating the dev set after
every epoch with the task's GLUE metric.

Options:
${formatOptions(OPTIONS)}`;

function numberOption(
  options: Map<string, unknown>,
  name: string,
  fallback: number,
  ok: (x: number) => boolean,
  domain: string,
) {
  const text = options.get(name) as string | undefined;
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(value) || !ok(value)) {
    throw new UsageError(
      `Option '--${name}' must be ${domain}, got '${text}'.`,
    );
  }
  return value;
}

/** Runs the finetune command; returns the exit code. */
export async function finetuneCommand(
  argv: readonly string[],
): Promise<number> {
  const { options, positional } = parseArgs(argv, OPTIONS);
  if (options.get("help")) {
    console.log(USAGE);
    return 0;
  }
  if (positional.length > 0) {
    throw new UsageError(
      `Unexpected argument '${positional[0]}'; name the model with --model.`,
    );
  }
  const taskName = options.get("task") as string | undefined;
  const out = options.get("out") as string | undefined;
  if (taskName === undefined || out === undefined) {
    throw new UsageError("Options '--task' and '--out' are required.");
  }
  const task = resolveTask(taskName);
  const precision = (options.get("precision") as string | undefined) ?? "fp32";
  if (!PRECISIONS.includes(precision)) {
    throw new UsageError(
      `Precision '${precision}' is not available in this build; use one of: ${
        PRECISIONS.join(", ")
      }.`,
    );
  }
  const model = (options.get("model") as string | undefined) ?? DEFAULT_MODEL;
  const data = (options.get("data") as string | undefined) ??
    join("../shared/data", task);
  const labels = GLUE_TASKS[task].labels;
  const run = {
    task,
    head: labels === null ? "regression" : `classification:${labels.length}`,
    epochs: (options.get("epochs") as number | undefined) ?? 3,
    batch: (options.get("batch") as number | undefined) ?? 32,
    seq: (options.get("seq") as number | undefined) ?? 128,
    learningRate: numberOption(
      options,
      "lr",
      2e-5,
      (x) => x > 0,
      "a number > 0",
    ),
    warmupRatio: numberOption(
      options,
      "warmup-ratio",
      0,
      (x) => x >= 0 && x < 1,
      "in [0, 1)",
    ),
    weightDecay: numberOption(options, "weight-decay", 0, (x) => x >= 0, "≥ 0"),
    seed: (options.get("seed") as number | undefined) ?? 1,
  };
  const checkpoint = join(out, "checkpoint.bin");
  const resume = options.get("resume")
    ? await loadCheckpoint(checkpoint)
    : undefined;

  const tokenizer = await loadTokenizer(
    (options.get("vocab") as string | undefined) ??
      join(dirname(model), "vocab.txt"),
  );
  const read = async (split: "train" | "dev") => {
    const file = join(data, `${split}.tsv`);
    return parseGlue(task, split, await Deno.readTextFile(file), file);
  };
  const [train, dev] = [await read("train"), await read("dev")];
  const { graph } = importOnnxFile(model);
  await Deno.mkdir(out, { recursive: true });
  const total = Math.ceil(train.length / run.batch) * run.epochs;
  const progress = new Progress("finetune: step", total, "tokens");
  let lastLoss = NaN;
  const result = await fineTune(graph, train, dev, tokenizer, run, {
    onStep: (step, _total, loss, tokens) => {
      lastLoss = loss;
      progress.report(step, tokens);
    },
    onEpoch: (r) =>
      console.error(
        `epoch ${r.epoch}: step ${r.step}, train loss ${
          r.trainLoss.toFixed(4)
        } (last ${lastLoss.toFixed(4)}), dev ${JSON.stringify(r.dev)}, ${
          r.tokensPerSecond.toFixed(0)
        } tokens/s`,
      ),
    onCheckpoint: (state) => saveCheckpoint(checkpoint, state),
    checkpointEvery: options.get("save-steps") as number | undefined,
  }, resume);
  const metrics = {
    model,
    task,
    precision,
    options: run,
    history: result.history,
  };
  await Deno.writeTextFile(
    join(out, "metrics.json"),
    JSON.stringify(metrics, null, 1),
  );
  await Deno.writeTextFile(
    join(out, "loss.svg"),
    lineChart(`${task} training loss (${precision})`, "step", "loss", [{
      name: "loss per step",
      points: result.losses.map((
        l,
        i,
      ) => [result.state.step - result.losses.length + i + 1, l]),
    }]),
  );
  await Deno.writeFile(
    join(out, "model.onnx"),
    exportOnnx(servingGraph(result.program, result.state)),
  );
  const last = result.history[result.history.length - 1];
  console.log(
    JSON.stringify({ task, step: result.state.step, dev: last?.dev ?? null }),
  );
  return 0;
}

if (import.meta.main) runMain(finetuneCommand, USAGE);
