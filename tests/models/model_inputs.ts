/**
 * Real model inputs for the whole-model tests: sentences from the GLUE dev
 * sets tokenised with the model's own vocab.txt, shaped and typed the way
 * each model's inputs are declared.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { loadGlueSplit, loadTokenizer } from "../../runtime/data/read_file.ts";
import { readTensorProtoFile } from "../../src/frontend/tensor_proto.ts";
import type { Graph } from "../../src/ir/graph.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { feedsFor, inputRole } from "../../src/analysis/model_feeds.ts";

/** The shared folder, beside the repository. */
export const SHARED = new URL("../../../shared/", import.meta.url).pathname;

/** Every .onnx file under shared/models, found by walking the folder. */
export function findModels(dir = join(SHARED, "models")): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...findModels(path));
    else if (entry.name.endsWith(".onnx")) found.push(path);
  }
  return found.sort();
}

/** The vocab.txt beside a model, or bert-base-uncased's (the same WordPiece vocab). */
function vocabFor(model: string): string {
  const own = join(dirname(model), "vocab.txt");
  try {
    Deno.statSync(own);
    return own;
  } catch {
    return join(SHARED, "models/bert-base-uncased/vocab.txt");
  }
}

const ID_PASSTHROUGH = new Set([
  "Cast",
  "Reshape",
  "Unsqueeze",
  "Squeeze",
  "Identity",
  "Flatten",
]);

/** The number of rows of the embedding table the ids input indexes. */
export function embeddingRows(graph: Graph, ids: string): number | undefined {
  const frontier = [ids];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const value = frontier.shift()!;
    for (const node of graph.nodes) {
      if (!node.inputs.includes(value)) continue;
      if (node.op === "Gather" && node.inputs[1] === value) {
        const table = graph.constants.get(node.inputs[0]);
        if (table !== undefined) return table.shape[0];
      }
      if (ID_PASSTHROUGH.has(node.op) && !seen.has(node.outputs[0])) {
        seen.add(node.outputs[0]);
        frontier.push(node.outputs[0]);
      }
    }
  }
  return undefined;
}

/**
 * Batch and sequence sizes for a model: its static dims where it has them;
 * for a symbolic sequence, the length of the reference inputs shipped beside
 * it (tiny fixtures have tiny position tables), else 24.
 */
export function inputSizes(
  model: string,
  graph: Graph,
): { batch: number; seq: number } {
  const shape = graph.types.get(graph.inputs[0])?.shape ?? [];
  const reference = model.replace(/\.onnx$/, ".test_data_set_0/input_0.pb");
  let seq = 24;
  try {
    seq = readTensorProtoFile(reference).tensor.shape[1];
  } catch {
    // No reference inputs: the default length.
  }
  return {
    batch: typeof shape[0] === "number" ? shape[0] : 2,
    seq: typeof shape[1] === "number" ? shape[1] : seq,
  };
}

/**
 * Feeds for `graph` (imported, not yet specialised): sentence pairs from
 * MRPC dev tokenised with the model's vocab; ids beyond a tiny test model's
 * embedding table wrap around it.
 */
export async function realFeeds(
  model: string,
  graph: Graph,
): Promise<Map<string, Tensor>> {
  const { batch, seq } = inputSizes(model, graph);
  const tokenizer = await loadTokenizer(vocabFor(model));
  const examples = await loadGlueSplit(join(SHARED, "data"), "MRPC", "dev");
  const pairs = examples.slice(0, batch).map((e) =>
    [e.textA, e.textB] as [string, string | undefined]
  );
  const encoded = tokenizer.encodeBatch(pairs, {
    maxLength: seq,
    padding: seq,
  });
  const ids = graph.inputs.find((i) => inputRole(i) === "ids")!;
  const rows = embeddingRows(graph, ids) ?? tokenizer.vocab.size;
  return feedsFor(graph, encoded, (id) => id % rows);
}
