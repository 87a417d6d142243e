/**
 * The options every GLUE command shares — model, task, data folder, vocab —
 * and how they resolve to files, examples and a task head.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { type GlueExample, parseGlue } from "../../runtime/data/glue.ts";
import {
  GLUE_TASKS,
  type GlueSplit,
  type GlueTaskName,
} from "../../runtime/data/glue_tasks.ts";
import type { OptionSpec, ParsedArgs } from "./args.ts";
import { UsageError } from "./args.ts";

/** The model compiled when none is named: the pretrained BERT-mini in shared/. */
export const DEFAULT_MODEL = "../shared/models/tessera-bert-mini/encoder.onnx";

/** `--model`, `--task`, `--data`, `--vocab`. */
export const TASK_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  model: {
    kind: "string",
    value: "FILE",
    help: `ONNX encoder (default ${DEFAULT_MODEL})`,
  },
  task: {
    kind: "string",
    value: "NAME",
    help: "GLUE task: sst2, cola, mrpc, stsb, rte, qnli, mnli, qqp, wnli",
  },
  data: {
    kind: "string",
    value: "DIR",
    help:
      "the task's folder of <split>.tsv files (default ../shared/data/<TASK>)",
  },
  vocab: {
    kind: "string",
    value: "FILE",
    help: "vocab.txt (default: beside the model)",
  },
};

/** Where a command's model, data and vocab are. */
export interface TaskFiles {
  readonly model: string;
  readonly task: GlueTaskName;
  readonly data: string;
  readonly vocab: string;
}

/** A GLUE task from a loose spelling (`sst2`, `SST-2`, `sts-b`). */
export function resolveTask(name: string): GlueTaskName {
  const key = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  const task = (Object.keys(GLUE_TASKS) as GlueTaskName[]).find((t) =>
    key(t) === key(name)
  );
  if (task === undefined) {
    throw new UsageError(
      `Unknown task '${name}'. Known tasks: ${
        Object.keys(GLUE_TASKS).join(", ")
      }.`,
    );
  }
  return task;
}

/** The files the parsed options name; `--task` is required unless `defaults` give one. */
export function taskFiles(
  { options }: ParsedArgs,
  defaults: { model?: string; task?: string; data?: string; vocab?: string } =
    {},
): TaskFiles {
  const name = (options.get("task") as string | undefined) ?? defaults.task;
  if (name === undefined) throw new UsageError("Option '--task' is required.");
  const task = resolveTask(name);
  const model = (options.get("model") as string | undefined) ??
    defaults.model ?? DEFAULT_MODEL;
  return {
    model,
    task,
    data: (options.get("data") as string | undefined) ?? defaults.data ??
      join("../shared/data", task),
    vocab: (options.get("vocab") as string | undefined) ?? defaults.vocab ??
      join(dirname(model), "vocab.txt"),
  };
}

/** The examples of one split; a bad row is a `DataFormatError` naming file and line. */
export async function readSplit(
  files: TaskFiles,
  split: GlueSplit,
): Promise<GlueExample[]> {
  const file = join(files.data, `${split}.tsv`);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    throw new Error(
      `Data file '${file}' cannot be read; pass --data with the folder holding the task's ${split}.tsv.`,
    );
  }
  return parseGlue(files.task, split, text, file);
}

/** The head a GLUE task trains: classification over its labels, or regression (STS-B). */
export function headFor(task: GlueTaskName): string {
  const labels = GLUE_TASKS[task].labels;
  return labels === null ? "regression" : `classification:${labels.length}`;
}

/** Throws a clear error unless `path` is an existing file. */
export function checkModelFile(path: string): void {
  let isFile = false;
  try {
    isFile = Deno.statSync(path).isFile;
  } catch {
    // Missing or unreadable: reported below.
  }
  if (!isFile) {
    throw new Error(
      `Model file '${path}' does not exist or is not a file; check the path.`,
    );
  }
}
