/**
 * `deno task eval`: scores a fine-tuning checkpoint on a GLUE split with the
 * task's GLUE metric.
 *
 * @module
 */

import type { GlueSplit } from "../../runtime/data/glue_tasks.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { evaluate, runPrograms } from "../finetune/fine_tune.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { loadCheckpoint } from "../training/checkpoint_file.ts";
import {
  formatOptions,
  type OptionSpec,
  parseCommand,
  UsageError,
} from "./args.ts";
import { runMain } from "./main.ts";
import {
  checkModelFile,
  headFor,
  readSplit,
  TASK_OPTIONS,
  taskFiles,
} from "./task_options.ts";

const OPTIONS: Record<string, OptionSpec> = {
  ...TASK_OPTIONS,
  checkpoint: {
    kind: "string",
    value: "FILE",
    help: "checkpoint.bin written by deno task finetune (required)",
  },
  split: {
    kind: "string",
    value: "NAME",
    help: "split to score (default dev)",
  },
  batch: { kind: "int", value: "N", help: "batch size (default 32)" },
  seq: { kind: "int", value: "N", help: "max_seq_length (default 128)" },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task eval --checkpoint FILE --task NAME [options]

Scores a fine-tuning checkpoint on a GLUE split; --model must be the encoder
the run started from.

Options:
${formatOptions(OPTIONS)}`;

/** Runs the eval command; returns the exit code. */
export async function evalCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const checkpoint = args.options.get("checkpoint") as string | undefined;
  if (checkpoint === undefined) {
    throw new UsageError("Option '--checkpoint' is required.");
  }
  const files = taskFiles(args);
  checkModelFile(files.model);
  const run = {
    task: files.task,
    head: headFor(files.task),
    epochs: 1,
    batch: (args.options.get("batch") as number | undefined) ?? 32,
    seq: (args.options.get("seq") as number | undefined) ?? 128,
    learningRate: 1,
    warmupRatio: 0,
    weightDecay: 0,
    seed: 0,
  };
  const split =
    ((args.options.get("split") as string | undefined) ?? "dev") as GlueSplit;
  const state = await loadCheckpoint(checkpoint);
  const tokenizer = await loadTokenizer(files.vocab);
  const examples = await readSplit(files, split);
  const programs = runPrograms(
    importOnnxFile(files.model).graph,
    examples.length,
    run,
  );
  const metrics = await evaluate(programs, state, examples, tokenizer, run);
  console.log(
    JSON.stringify({
      task: files.task,
      split,
      step: state.step,
      examples: examples.length,
      metrics,
    }),
  );
  return 0;
}

if (import.meta.main) runMain(evalCommand, USAGE);
