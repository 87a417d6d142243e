/**
 * Fixtures for fine-tuning tests: the tiny sentiment set shipped in
 * `examples/`, one-layer BERTs with seeded weights, and run settings.
 *
 * @module
 */

import { join } from "node:path";
import { parseGlue } from "../../runtime/data/glue.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { exportOnnx } from "../../src/export/onnx_export.ts";
import type { FineTuneOptions } from "../../src/finetune/fine_tune.ts";
import { importOnnx } from "../../src/frontend/import_model.ts";
import type { Graph } from "../../src/ir/graph.ts";
import {
  type BertConfig,
  buildBertGraph,
} from "../../src/models/bert_builder.ts";

/** The tiny sentiment set's folder (train.tsv, dev.tsv, vocab.txt). */
export const TINY_DATA =
  new URL("../../examples/data/tiny-sentiment/", import.meta.url).pathname;

/** A one-layer BERT over the tiny set's 44-token vocabulary. */
export const TINY_CONFIG: BertConfig = {
  vocab_size: 44,
  hidden_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 16,
  type_vocab_size: 2,
};

/** The tokenizer and the first `train`/`dev` rows of the tiny set. */
export async function tinySet(train: number, dev: number) {
  const tokenizer = await loadTokenizer(join(TINY_DATA, "vocab.txt"));
  const read = (split: "train" | "dev") =>
    parseGlue(
      "SST-2",
      split,
      Deno.readTextFileSync(join(TINY_DATA, `${split}.tsv`)),
      split,
    );
  return {
    tokenizer,
    train: read("train").slice(0, train),
    dev: read("dev").slice(0, dev),
  };
}

/** A tiny BERT with weights from `seed`, exported as ONNX. */
export function tinyOnnx(
  seed: number,
  config: BertConfig = TINY_CONFIG,
): Uint8Array {
  return exportOnnx(buildBertGraph(config, seed));
}

/** A tiny BERT with weights from `seed`, as the frontend imports it. */
export function tinyModel(
  seed: number,
  config: BertConfig = TINY_CONFIG,
): Graph {
  return importOnnx(tinyOnnx(seed, config)).graph;
}

/** Run settings for the tiny set; `overrides` change what a test is about. */
export function tinyOptions(
  overrides: Partial<FineTuneOptions> = {},
): FineTuneOptions {
  return {
    task: "SST-2",
    head: "classification:2",
    epochs: 1,
    batch: 16,
    seq: 12,
    learningRate: 2e-3,
    warmupRatio: 0,
    weightDecay: 0,
    seed: 1,
    ...overrides,
  };
}

/**
 * Writes a small tiny-BERT ONNX file into `dir` and returns the CLI options
 * that fine-tune it on the tiny set: `--model`, `--vocab`, `--data`, `--task`.
 */
export async function tinyCliArgs(dir: string): Promise<string[]> {
  const model = join(dir, "tiny.onnx");
  await Deno.writeFile(
    model,
    tinyOnnx(2, { ...TINY_CONFIG, hidden_size: 16, intermediate_size: 32 }),
  );
  return [
    "--model",
    model,
    "--vocab",
    join(TINY_DATA, "vocab.txt"),
    "--data",
    TINY_DATA,
    "--task",
    "sst2",
  ];
}
