/**
 * What the PTQ tests on bert-tiny-random share: the model, a calibration
 * set of real SST-2 training sentences, and the `compile --infer` command
 * line of the CLI tests.
 *
 * @module
 */

import { join } from "node:path";
import { parseGlue } from "../../runtime/data/glue.ts";
import { loadTokenizer } from "../../runtime/data/read_file.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { calibrationBatches, chooseSamples } from "../../src/ptq/calibrate.ts";

/** The random-weight BERT-tiny the PTQ tests quantise. */
export const TINY_MODEL = "../shared/models/bert-tiny-random/model.onnx";

const SST2_TRAIN = "../shared/data/SST-2/train.tsv";

/**
 * bert-tiny, `samples` SST-2 training sentences chosen by seed 1 in
 * batches of 8 (at most 32 tokens), and its forward compiler per shape.
 */
export async function tinySetup(samples = 8) {
  const { graph } = importOnnxFile(TINY_MODEL);
  const examples = parseGlue(
    "SST-2",
    "train",
    await Deno.readTextFile(SST2_TRAIN),
    SST2_TRAIN,
  );
  const tokenizer = await loadTokenizer(
    join(TINY_MODEL, "..", "vocab.txt"),
  );
  const chosen = chooseSamples(examples.length, samples, 1).map((i) =>
    examples[i]
  );
  const batches = calibrationBatches(chosen, tokenizer, 8, 32);
  const compile = (batch: number, seq: number) =>
    runPipeline(graph, { batch, seq, dims: {} });
  return { graph, batches, compile };
}

/** `compile` arguments for `--infer` on `model` with `calibration`, dumping to `dump`. */
export function inferArgs(
  model: string,
  calibration: string,
  dump: string,
): string[] {
  return [
    model,
    "--infer",
    "--precision",
    "w8a8",
    "--calibration",
    calibration,
    "--seq",
    "16",
    "--dump-ir",
    dump,
  ];
}
