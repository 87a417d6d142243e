/**
 * `deno task eval`: scores a fine-tuning checkpoint on a GLUE split with the
 * task's GLUE metric.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { parseGlue } from "../../runtime/data/glue.ts";
import { GLUE_TASKS, type GlueSplit } from "../../runtime/data/glue_tasks.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { compileRun, evaluate } from "../finetune/fine_tune.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { loadCheckpoint } from "../training/checkpoint_file.ts";
import {
  formatOptions,
  type OptionSpec,
  parseArgs,
  UsageError,
} from "./args.ts";
import { DEFAULT_MODEL } from "./compile.ts";
import { runMain } from "./main.ts";
import { resolveTask } from "./outliers.ts";

const OPTIONS: Record<string, OptionSpec> = {
  model: {
    kind: "string",
    value: "FILE",
    help: `the ONNX encoder the run started from (default ${DEFAULT_MODEL})`,
  },
  checkpoint: {
    kind: "string",
    value: "FILE",
    help: "checkpoint.bin written by deno task finetune (required)",
  },
  task: { kind: "string", value: "NAME", help: "GLUE task (required)" },
  data: {
    kind: "string",
    value: "DIR",
    help: "the task's folder (default ../shared/data/<TASK>)",
  },
  split: {
    kind: "string",
    value: "NAME",
    help: "split to score (default dev)",
  },
  vocab: {
    kind: "string",
    value: "FILE",
    help: "vocab.txt (default: beside the model)",
  },
  batch: { kind: "int", value: "N", help: "batch size (default 32)" },
  seq: { kind: "int", value: "N", help: "max_seq_length (default 128)" },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task eval --checkpoint FILE --task NAME [options]

Scores a fine-tuning checkpoint on a GLUE split.

Options:
${formatOptions(OPTIONS)}`;

/** Runs the eval command; returns the exit code. */
export async function evalCommand(argv: readonly string[]): Promise<number> {
  const { options, positional } = parseArgs(argv, OPTIONS);
  if (options.get("help")) {
    console.log(USAGE);
    return 0;
  }
  if (positional.length > 0) {
    throw new UsageError(`Unexpected argument '${positional[0]}'.`);
  }
  const checkpoint = options.get("checkpoint") as string | undefined;
  const taskName = options.get("task") as string | undefined;
  if (checkpoint === undefined || taskName === undefined) {
    throw new UsageError("Options '--checkpoint' and '--task' are required.");
  }
  const task = resolveTask(taskName);
  const model = (options.get("model") as string | undefined) ?? DEFAULT_MODEL;
  const data = (options.get("data") as string | undefined) ??
    join("../shared/data", task);
  const split =
    ((options.get("split") as string | undefined) ?? "dev") as GlueSplit;
  const labels = GLUE_TASKS[task].labels;
  const run = {
    task,
    head: labels === null ? "regression" : `classification:${labels.length}`,
    epochs: 1,
    batch: (options.get("batch") as number | undefined) ?? 32,
    seq: (options.get("seq") as number | undefined) ?? 128,
    learningRate: 1,
    warmupRatio: 0,
    weightDecay: 0,
    seed: 0,
  };
  const state = await loadCheckpoint(checkpoint);
  const tokenizer = await loadTokenizer(
    (options.get("vocab") as string | undefined) ??
      join(dirname(model), "vocab.txt"),
  );
  const file = join(data, `${split}.tsv`);
  const examples = parseGlue(task, split, await Deno.readTextFile(file), file);
  const program = compileRun(importOnnxFile(model).graph, examples.length, run);
  const dev = evaluate(program, state, examples, tokenizer, run);
  console.log(
    JSON.stringify({
      task,
      split,
      step: state.step,
      examples: examples.length,
      metrics: dev,
    }),
  );
  return 0;
}

if (import.meta.main) runMain(evalCommand, USAGE);
