/**
 * `deno task finetune`: fine-tunes an ONNX encoder on a GLUE task with a
 * progress line, dev metrics after every epoch, atomic checkpoints and
 * `--resume`, and writes metrics.json, a loss-curve picture and the
 * fine-tuned model as ONNX. Option names follow Hugging Face's run_glue.py
 * where they mean the same.
 *
 * @module
 */

import { join } from "node:path";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { exportOnnx } from "../export/onnx_export.ts";
import { fineTune } from "../finetune/fine_tune.ts";
import { dynamicServingGraph } from "../finetune/serving_graph.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { lineChart } from "../report/svg_chart.ts";
import { loadCheckpoint, saveCheckpoint } from "../training/checkpoint_file.ts";
import {
  formatOptions,
  type OptionSpec,
  parseCommand,
  type ParsedArgs,
  UsageError,
} from "./args.ts";
import { finetuneSquadCommand, isSquadTask } from "./finetune_squad.ts";
import { runMain } from "./main.ts";
import {
  optimizerOptionSpecs,
  optimizerSettings,
} from "./optimizer_options.ts";
import { THREADS_OPTION, threadsSetting } from "./threads_option.ts";
import {
  dumpIrObserver,
  PRECISION_OPTIONS,
  recipeOption,
  recomputeOption,
} from "./precision_options.ts";
import { peakResidentBytes } from "./peak_memory.ts";
import { Progress } from "./progress.ts";
import {
  checkModelFile,
  headFor,
  readSplit,
  TASK_OPTIONS,
  taskFiles,
} from "./task_options.ts";

const OPTIONS: Record<string, OptionSpec> = {
  ...TASK_OPTIONS,
  ...PRECISION_OPTIONS,
  epochs: { kind: "int", value: "N", help: "num_train_epochs (default 3)" },
  batch: { kind: "int", value: "N", help: "per-step batch size (default 32)" },
  seq: { kind: "int", value: "N", help: "max_seq_length (default 128)" },
  "length-buckets": {
    kind: "string",
    value: "L,…",
    help:
      "pad each batch only to the shortest of these lengths (8 to --seq) that holds its longest row, or 'none' (default: 32, 64, … below --seq)",
  },
  ...optimizerOptionSpecs(2e-5),
  ...THREADS_OPTION,
  "max-train-samples": {
    kind: "int",
    value: "N",
    help: "train on the first N examples of train.tsv only (default: all)",
  },
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
every epoch with the task's GLUE metric. \`--task squad\` fine-tunes a span head
on SQuAD v1.1 instead (\`--task squad --help\` lists its options).

Options:
${formatOptions(OPTIONS)}`;

/** Smallest bucket worth its own compiled step graph. */
const SHORTEST_BUCKET = 8;

/** The `--length-buckets` list (`[]` for 'none'); a usage error when it is bad. */
function lengthBuckets(args: ParsedArgs, seq: number): number[] | undefined {
  const text = args.options.get("length-buckets") as string | undefined;
  if (text === undefined) return undefined;
  if (text === "none") return [];
  return text.split(",").map((part) => {
    const n = Number(part.trim());
    if (
      part.trim() === "" || !Number.isInteger(n) || n < SHORTEST_BUCKET ||
      n > seq
    ) {
      throw new UsageError(
        `Option '--length-buckets' must be 'none' or integers from ${SHORTEST_BUCKET} to --seq (${seq}) separated by commas, got '${part}' in '${text}'.`,
      );
    }
    return n;
  });
}

/** Runs the finetune command; returns the exit code. */
export async function finetuneCommand(
  argv: readonly string[],
): Promise<number> {
  if (isSquadTask(argv)) return finetuneSquadCommand(argv);
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const { options } = args;
  const out = options.get("out") as string | undefined;
  if (out === undefined) throw new UsageError("Option '--out' is required.");
  const files = taskFiles(args);
  checkModelFile(files.model);
  const recipe = recipeOption(args);
  const seq = (options.get("seq") as number | undefined) ?? 128;
  const run = {
    task: files.task,
    head: headFor(files.task),
    epochs: (options.get("epochs") as number | undefined) ?? 3,
    batch: (options.get("batch") as number | undefined) ?? 32,
    seq,
    buckets: lengthBuckets(args, seq),
    ...optimizerSettings(args, 2e-5),
    threads: threadsSetting(args),
    recipe,
    recompute: recomputeOption(args),
  };
  const onPass = await dumpIrObserver(args);
  const checkpoint = join(out, "checkpoint.bin");
  const resume = options.get("resume")
    ? await loadCheckpoint(checkpoint)
    : undefined;
  const tokenizer = await loadTokenizer(files.vocab);
  const limit = options.get("max-train-samples") as number | undefined;
  const train = (await readSplit(files, "train")).slice(0, limit);
  const dev = await readSplit(files, "dev");
  const { graph } = importOnnxFile(files.model);
  await Deno.mkdir(out, { recursive: true });
  const progress = new Progress(
    "finetune: step",
    Math.ceil(train.length / run.batch) * run.epochs,
    "tokens",
  );
  let lastLoss = NaN;
  const result = await fineTune(graph, train, dev, tokenizer, run, {
    onStep: (step, _total, loss, tokens) => {
      lastLoss = loss;
      progress.report(step, tokens, `loss ${loss.toFixed(4)}`);
    },
    onEpoch: (r) =>
      console.error(
        Number.isNaN(r.trainLoss)
          ? `epoch ${r.epoch}: step ${r.step}, resumed at the last step: nothing to train, scored only, dev ${
            JSON.stringify(r.dev)
          }`
          : `epoch ${r.epoch}: step ${r.step}, train loss ${
            r.trainLoss.toFixed(4)
          } (last ${lastLoss.toFixed(4)}), dev ${JSON.stringify(r.dev)}, ${
            r.tokensPerSecond.toFixed(0)
          } tokens/s`,
      ),
    onCheckpoint: (state) => saveCheckpoint(checkpoint, state),
    checkpointEvery: options.get("save-steps") as number | undefined,
    onPass,
  }, resume);
  const metrics = {
    model: files.model,
    task: files.task,
    precision: recipe.name,
    options: run,
    history: result.history,
    peakResidentBytes: peakResidentBytes(),
  };
  await Deno.writeTextFile(
    join(out, "metrics.json"),
    JSON.stringify(metrics, null, 1),
  );
  const firstStep = result.state.step - result.losses.length + 1;
  await Deno.writeTextFile(
    join(out, "loss.svg"),
    lineChart(`${files.task} training loss (${recipe.name})`, "step", "loss", [{
      name: "loss per step",
      points: result.losses.map((l, i) => [firstStep + i, l]),
    }]),
  );
  await Deno.writeFile(
    join(out, "model.onnx"),
    exportOnnx(dynamicServingGraph(graph, result.program, result.state)),
  );
  const last = result.history[result.history.length - 1];
  console.log(
    JSON.stringify({
      task: files.task,
      step: result.state.step,
      dev: last?.dev ?? null,
    }),
  );
  return 0;
}

if (import.meta.main) runMain(finetuneCommand, USAGE);
