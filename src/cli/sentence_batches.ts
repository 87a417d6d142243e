/**
 * The options and batching shared by the commands that run a model over
 * real sentences to measure its activations (`outliers`, `gamma-report`).
 *
 * @module
 */

import { type BatchEncoding, padBatch } from "../../runtime/data/encoding.ts";
import type { GlueSplit } from "../../runtime/data/glue_tasks.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import type { Vocab } from "../../runtime/data/vocab.ts";
import type { OptionSpec, ParsedArgs } from "./args.ts";
import { readSplit, type TaskFiles } from "./task_options.ts";

/** `--split`, `--samples`, `--batch`, `--max-seq-length`, `--pad-to-max-length`. */
export const SENTENCE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  split: {
    kind: "string",
    value: "NAME",
    help: "split file to read (default dev)",
  },
  samples: { kind: "int", value: "N", help: "sentences to run (default 256)" },
  batch: { kind: "int", value: "N", help: "sentences per batch (default 8)" },
  "max-seq-length": {
    kind: "int",
    value: "N",
    help: "truncate longer inputs (default 128)",
  },
  "pad-to-max-length": {
    kind: "flag",
    help:
      "pad every batch to --max-seq-length (default: a multiple of 16 above its longest row)",
  },
};

/** Tokenised sentences ready to run, with where they came from. */
export interface SentenceBatches {
  /** The split read. */
  readonly split: GlueSplit;
  /** The model's vocabulary. */
  readonly vocab: Vocab;
  /** Padded batches, in file order. */
  readonly batches: readonly BatchEncoding[];
}

/** Reads, tokenises and pads the sentences the parsed {@linkcode SENTENCE_OPTIONS} select. */
export async function sentenceBatches(
  args: ParsedArgs,
  files: TaskFiles,
): Promise<SentenceBatches> {
  const { options } = args;
  const split =
    ((options.get("split") as string | undefined) ?? "dev") as GlueSplit;
  const samples = (options.get("samples") as number | undefined) ?? 256;
  const batchSize = (options.get("batch") as number | undefined) ?? 8;
  const maxLength = (options.get("max-seq-length") as number | undefined) ??
    128;
  const examples = (await readSplit(files, split)).slice(0, samples);
  const tokenizer = await loadTokenizer(files.vocab);
  const batches = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const rows = examples.slice(i, i + batchSize).map((e) =>
      tokenizer.encode(e.textA, e.textB, { maxLength })
    );
    // Pad to a multiple of 16 so a handful of compiled shapes serve every batch.
    const longest = Math.max(...rows.map((r) => r.inputIds.length));
    const length = options.get("pad-to-max-length")
      ? maxLength
      : Math.min(maxLength, Math.ceil(longest / 16) * 16);
    batches.push(padBatch(rows, length, tokenizer.vocab.special.pad));
  }
  return { split, vocab: tokenizer.vocab, batches };
}
