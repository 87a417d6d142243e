/**
 * Turning a tokenised batch into a BERT model's input tensors, whatever
 * the exporter named and typed them.
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import type { Graph } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";

/** What a graph input carries, judged by its name. */
export function inputRole(name: string): "ids" | "mask" | "types" {
  if (/mask/i.test(name)) return "mask";
  if (/type|segment/i.test(name)) return "types";
  return "ids";
}

/**
 * Feeds for `graph` from a batch: ids, attention mask and token types by
 * input name, in each input's declared dtype. `mapId` adjusts ids (tiny test
 * models have tiny embedding tables); `inputs` names the token inputs when
 * the graph has others (e.g. labels).
 */
export function feedsFor(
  graph: Graph,
  batch: BatchEncoding,
  mapId: (id: number) => number = (id) => id,
  inputs: readonly string[] = graph.inputs,
): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  const shape = [batch.batchSize, batch.seqLength];
  for (const name of inputs) {
    const role = inputRole(name);
    const source = role === "ids"
      ? batch.inputIds
      : role === "mask"
      ? batch.attentionMask
      : batch.tokenTypeIds;
    const values = Array.from(source, (v) => (role === "ids" ? mapId(v) : v));
    feeds.set(
      name,
      tensor(graph.types.get(name)?.dtype ?? "i64", shape, values),
    );
  }
  return feeds;
}
