/**
 * Inference throughput of the post-training comparison: sequences/s of one
 * fine-tuned model served by tessera's engine (f32, and int8 as the
 * int8-a2 recipe serves it) and by onnxruntime-node and onnxruntime-web
 * (f32, and their own dynamic int8 quantisation of the same model), on one
 * batch of real dev sentences, one thread (ONNX Runtime also on two).
 *
 * @module
 */

import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { Engine } from "../runtime/engine/mod.ts";
import type { BatchEncoding } from "../runtime/data/encoding.ts";
import { feedsFor } from "../src/analysis/model_feeds.ts";
import type { Graph } from "../src/ir/graph.ts";
import type { Runner } from "../src/ptq/calibrate.ts";
import { medianMs, ortFeeds } from "./timing.ts";

/** One measured engine. */
export interface SpeedRow {
  /** Engine and model, e.g. `onnxruntime-node, dynamic int8`. */
  readonly engine: string;
  /** Threads it was given. */
  readonly threads: number;
  /** Median milliseconds per batch. */
  readonly ms: number;
  /** Sequences per second (batch rows / median time). */
  readonly sequencesPerSecond: number;
  /** Failure, when the engine could not run. */
  readonly error?: string;
}

/** Times tessera's engine on `graph`. */
export async function engineSpeed(
  label: string,
  graph: Graph,
  batch: BatchEncoding,
  runs: number,
): Promise<SpeedRow> {
  const engine = await Engine.create(graph);
  const feeds = feedsFor(graph, batch);
  const ms = await medianMs(() => engine.run(feeds, { views: true }), runs);
  return {
    engine: label,
    threads: 1,
    ms,
    sequencesPerSecond: batch.batchSize / (ms / 1000),
  };
}

/**
 * Times onnxruntime-node or -web (`which`) on the ONNX `model` bytes with
 * `threads` intra-op threads; a session that cannot be made is reported,
 * not thrown.
 */
export async function ortSpeed(
  which: "node" | "web",
  label: string,
  model: Uint8Array,
  graph: Graph,
  batch: BatchEncoding,
  threads: number,
  runs: number,
): Promise<SpeedRow> {
  const ort = (which === "node" ? ortNode : ortWeb) as typeof ortWeb;
  const engine = `onnxruntime-${which}, ${label}`;
  try {
    if (which === "web") ortWeb.env.wasm.numThreads = threads;
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionProviders: [which === "web" ? "wasm" : "cpu"],
    });
    const inputs = ortFeeds(ort, feedsFor(graph, batch));
    const ms = await medianMs(() => session.run(inputs), runs);
    await session.release();
    return {
      engine,
      threads,
      ms,
      sequencesPerSecond: batch.batchSize / (ms / 1000),
    };
  } catch (e) {
    return {
      engine,
      threads,
      ms: NaN,
      sequencesPerSecond: NaN,
      error: (e as Error).message.split("\n")[0],
    };
  }
}

/**
 * onnxruntime-node on the ONNX `model` bytes as a `Runner` (one thread):
 * feeds by name, every output back as an f32 tensor.
 */
export async function ortRunner(model: Uint8Array): Promise<Runner> {
  const session = await ortNode.InferenceSession.create(model, {
    intraOpNumThreads: 1,
  });
  return async (_graph, feeds) => {
    const result = await session.run(
      ortFeeds(ortNode as unknown as typeof ortWeb, feeds),
    );
    return new Map(
      Object.entries(result).map(([name, t]) => [name, {
        dtype: "f32" as const,
        shape: [...t.dims],
        data: t.data as Float32Array,
      }]),
    );
  };
}

/** The rows as a Markdown table. */
export function speedTable(rows: readonly SpeedRow[]): string {
  const lines = [
    "| engine | threads | ms / batch | sequences/s |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map((r) =>
      r.error === undefined
        ? `| ${r.engine} | ${r.threads} | ${r.ms.toFixed(0)} | ${
          r.sequencesPerSecond.toFixed(1)
        } |`
        : `| ${r.engine} | ${r.threads} | — | failed: ${r.error} |`
    ),
  ];
  return lines.join("\n") + "\n";
}
