/**
 * `deno task finetune --task squad`: fine-tunes an ONNX encoder with the
 * span head on SQuAD v1.1. Only one SQuAD file is needed: it is split by
 * article (`--split`), the first articles train and the rest are scored
 * after every epoch with the official EM/F1. Writes checkpoint.bin
 * (`--resume` continues it), metrics.json, loss.svg, predictions.json (the
 * official format) and model.onnx. Option names follow `finetune` and
 * Hugging Face's run_squad.py.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { loadTokenizer, readText } from "../../runtime/data/read_file.ts";
import { parseSquad } from "../../runtime/data/squad_examples.ts";
import { exportOnnx } from "../export/onnx_export.ts";
import { dynamicServingGraph } from "../finetune/serving_graph.ts";
import { goldChecks } from "../finetune/squad_evaluate.ts";
import {
  prepareSquad,
  squadFineTune,
  type SquadFineTuneOptions,
} from "../finetune/squad_fine_tune.ts";
import { describeSplit, splitByArticle } from "../finetune/squad_split.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { lineChart } from "../report/svg_chart.ts";
import { loadCheckpoint, saveCheckpoint } from "../training/checkpoint_file.ts";
import {
  formatOptions,
  numberOption,
  type OptionSpec,
  parseCommand,
  UsageError,
} from "./args.ts";
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
import { checkModelFile, DEFAULT_MODEL } from "./task_options.ts";

/** The SQuAD file used when `--data` is not given. */
export const DEFAULT_SQUAD = "../shared/data/squad-v1.1/dev-v1.1.json";

const OPTIONS: Record<string, OptionSpec> = {
  model: {
    kind: "string",
    value: "FILE",
    help: `ONNX encoder (default ${DEFAULT_MODEL})`,
  },
  task: { kind: "string", value: "NAME", help: "squad (the only task here)" },
  data: {
    kind: "string",
    value: "FILE",
    help: `SQuAD v1.1 JSON to split (default ${DEFAULT_SQUAD})`,
  },
  vocab: {
    kind: "string",
    value: "FILE",
    help: "vocab.txt (default: beside the model)",
  },
  split: {
    kind: "string",
    value: "X",
    help: "fraction of articles, first in file order, that train (default 0.8)",
  },
  ...PRECISION_OPTIONS,
  epochs: { kind: "int", value: "N", help: "num_train_epochs (default 2)" },
  batch: { kind: "int", value: "N", help: "per-step batch size (default 32)" },
  seq: { kind: "int", value: "N", help: "max_seq_length (default 384)" },
  "doc-stride": {
    kind: "int",
    value: "N",
    help: "doc_stride between windows (default 128)",
  },
  "max-query-length": {
    kind: "int",
    value: "N",
    help: "max_query_length (default 64)",
  },
  "max-answer-length": {
    kind: "int",
    value: "N",
    help: "max_answer_length in tokens when decoding (default 30)",
  },
  ...optimizerOptionSpecs(3e-5),
  ...THREADS_OPTION,
  "max-train-samples": {
    kind: "int",
    value: "N",
    help: "train on the first N questions of the training articles only",
  },
  "max-eval-samples": {
    kind: "int",
    value: "N",
    help:
      "score the first N questions of the evaluation articles only, in file order (default: all)",
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
      "output_dir: checkpoint.bin, metrics.json, loss.svg, predictions.json, model.onnx (required)",
  },
  resume: { kind: "flag", help: "continue from <out>/checkpoint.bin" },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task finetune --task squad --out DIR [options]

Fine-tunes an ONNX BERT encoder with a span head on SQuAD v1.1, split by
article, scoring the held-out articles with the official EM/F1 every epoch.

Options:
${formatOptions(OPTIONS)}`;

/** True when `argv` asks `finetune` for SQuAD (`--task squad` or `--task=squad`). */
export function isSquadTask(argv: readonly string[]): boolean {
  const i = argv.findIndex((a) => a === "--task" || a.startsWith("--task="));
  if (i < 0) return false;
  const value = argv[i] === "--task" ? argv[i + 1] : argv[i].slice(7);
  return value?.toLowerCase().replace(/[^a-z0-9]/g, "") === "squad";
}

/** Runs the SQuAD fine-tuning command; returns the exit code. */
export async function finetuneSquadCommand(
  argv: readonly string[],
): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const { options } = args;
  const get = <T>(name: string) => options.get(name) as T | undefined;
  const task = get<string>("task");
  if (task !== undefined && !isSquadTask(["--task", task])) {
    throw new UsageError(`Option '--task' must be squad here, got '${task}'.`);
  }
  const out = get<string>("out");
  if (out === undefined) throw new UsageError("Option '--out' is required.");
  const model = get<string>("model") ?? DEFAULT_MODEL;
  checkModelFile(model);
  const fraction = numberOption(
    args,
    "split",
    0.8,
    (x) => x > 0 && x < 1,
    "in (0, 1)",
  );
  const recipe = recipeOption(args);
  const run: SquadFineTuneOptions = {
    epochs: get<number>("epochs") ?? 2,
    batch: get<number>("batch") ?? 32,
    seq: get<number>("seq") ?? 384,
    docStride: get<number>("doc-stride") ?? 128,
    maxQueryLength: get<number>("max-query-length") ?? 64,
    maxAnswerLength: get<number>("max-answer-length") ?? 30,
    ...optimizerSettings(args, 3e-5),
    threads: threadsSetting(args),
    recipe,
    recompute: recomputeOption(args),
  };
  if (run.seq - run.maxQueryLength - 3 < 1) {
    throw new UsageError(
      `Option '--seq' (${run.seq}) must exceed --max-query-length (${run.maxQueryLength}) + 3.`,
    );
  }
  const dataFile = get<string>("data") ?? DEFAULT_SQUAD;
  let text: string;
  try {
    text = await readText(dataFile);
  } catch {
    throw new Error(
      `Data file '${dataFile}' cannot be read; pass --data with a SQuAD v1.1 JSON file.`,
    );
  }
  const split = splitByArticle(parseSquad(text, dataFile), fraction);
  const trainQuestions = split.train.examples.slice(
    0,
    get<number>("max-train-samples"),
  );
  const tokenizer = await loadTokenizer(
    get<string>("vocab") ?? join(dirname(model), "vocab.txt"),
  );
  const evalQuestions = split.eval.examples.slice(
    0,
    get<number>("max-eval-samples"),
  );
  const data = prepareSquad(
    trainQuestions,
    evalQuestions,
    tokenizer,
    run,
  );
  const checks = goldChecks(data.eval, tokenizer.vocab, run);
  const score = (s: { exactMatch: number; f1: number }) =>
    `EM ${s.exactMatch.toFixed(2)} F1 ${s.f1.toFixed(2)}`;
  console.error(
    `split ${fraction}: ${describeSplit(split)}\n` +
      `training on ${trainQuestions.length} questions → ${data.train.length} windows; ` +
      `evaluating ${data.eval.examples.length} questions → ${data.eval.features.length} windows\n` +
      `gold check (eval articles): gold answers ${
        score(checks.goldAnswers)
      }; oracle spans through windows + n-best decoding ${
        score(checks.oracleSpans)
      }`,
  );
  const checkpoint = join(out, "checkpoint.bin");
  const resume = options.get("resume")
    ? await loadCheckpoint(checkpoint)
    : undefined;
  const onPass = await dumpIrObserver(args);
  const { graph } = importOnnxFile(model);
  await Deno.mkdir(out, { recursive: true });
  const progress = new Progress(
    "finetune squad: step",
    Math.ceil(data.train.length / run.batch) * run.epochs,
    "tokens",
  );
  const result = await squadFineTune(graph, data, tokenizer, run, {
    onStep: (step, _total, loss, tokens) =>
      progress.report(step, tokens, `loss ${loss.toFixed(4)}`),
    onEpoch: (r) => {
      const scores = `eval EM ${r.dev.exact_match.toFixed(2)} F1 ${
        r.dev.f1.toFixed(2)
      }`;
      console.error(
        Number.isNaN(r.trainLoss)
          ? `epoch ${r.epoch}: step ${r.step}, resumed at the last step: nothing to train, scored only, ${scores}`
          : `epoch ${r.epoch}: step ${r.step}, train loss ${
            r.trainLoss.toFixed(4)
          }, ${scores}, ${r.tokensPerSecond.toFixed(0)} tokens/s`,
      );
    },
    onCheckpoint: (state) => saveCheckpoint(checkpoint, state),
    checkpointEvery: get<number>("save-steps"),
    onPass,
  }, resume);
  const side = (s: typeof split.train) => ({
    articles: s.articles.length,
    questions: s.examples.length,
    titles: s.articles,
  });
  const metrics = {
    model,
    task: "squad",
    precision: recipe.name,
    data: dataFile,
    split: {
      fraction,
      rule: "first articles in file order train, the rest evaluate",
      train: { ...side(split.train), questionsUsed: trainQuestions.length },
      eval: { ...side(split.eval), questionsUsed: evalQuestions.length },
    },
    windows: {
      train: data.train.length,
      eval: data.eval.features.length,
    },
    options: run,
    goldChecks: checks,
    history: result.history,
    peakResidentBytes: peakResidentBytes(),
  };
  await Deno.writeTextFile(
    join(out, "metrics.json"),
    JSON.stringify(metrics, null, 1),
  );
  await Deno.writeTextFile(
    join(out, "predictions.json"),
    JSON.stringify(result.predictions),
  );
  const firstStep = result.state.step - result.losses.length + 1;
  await Deno.writeTextFile(
    join(out, "loss.svg"),
    lineChart(`SQuAD v1.1 training loss (${recipe.name})`, "step", "loss", [{
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
      task: "squad",
      step: result.state.step,
      eval: last?.dev ?? null,
    }),
  );
  return 0;
}

if (import.meta.main) runMain(finetuneSquadCommand, USAGE);
