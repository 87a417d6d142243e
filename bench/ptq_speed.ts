/**
 * Inference throughput of the post-training comparison: sequences/s of one
 * fine-tuned model served by tessera's engine (f32; int8 as the int8-a2
 * recipe serves it; W8A8 post-training quantisation on the int8 kernels and
 * as its f32 emulation) and by onnxruntime-node and onnxruntime-web (f32,
 * and their own dynamic int8 quantisation of the same model), on one batch
 * of real dev sentences, one thread (ONNX Runtime also on two); ONNX Runtime
 * also runs tessera's W8A8 model exported as standard ONNX.
 *
 * @module
 */

import { join } from "node:path";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import type { GlueTaskName } from "../runtime/data/glue_tasks.ts";
import type { BertTokenizer } from "../runtime/data/tokenizer.ts";
import { Engine } from "../runtime/engine/mod.ts";
import type { BatchEncoding } from "../runtime/data/encoding.ts";
import { feedsFor } from "../src/analysis/model_feeds.ts";
import { readSplit } from "../src/cli/task_options.ts";
import type { Graph } from "../src/ir/graph.ts";
import {
  calibrate,
  calibrationBatches,
  chooseSamples,
  engineRunner,
  type Runner,
} from "../src/ptq/calibrate.ts";
import { lengthSortedBatches, scoreSplit } from "../src/ptq/dev_eval.ts";
import { dynamicQuantizeOnnx } from "../src/ptq/dynamic_quantize_onnx.ts";
import { exportOnnx } from "../src/export/onnx_export.ts";
import { fakeQuantise } from "../src/ptq/fake_quant.ts";
import { integerLinears } from "../src/ptq/integer_linear.ts";
import { parsePrecision } from "../src/ptq/params.ts";
import { loadFineTunedRun, servedGraph } from "../src/ptq/served_model.ts";
import { medianMs, ortFeeds } from "./timing.ts";

/** The vocabulary of the fine-tuned BERT-mini models. */
export const VOCAB = "../shared/models/tessera-bert-mini/vocab.txt";

/** Training sentences the speed rows' W8A8 calibration uses. */
const SPEED_CALIBRATION = 32;

/** The staged GLUE files of `task` as `readSplit` takes them. */
export function taskSplits(task: GlueTaskName) {
  return { model: "", task, data: join("../shared/data", task), vocab: VOCAB };
}

/** The parsed JSON in `file`, or `undefined` when it is missing or bad. */
export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(file)) as T;
  } catch {
    return undefined;
  }
}

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

/**
 * Throughput at the exported models' shape (32 × 128, real dev sentences
 * of `task`), cached in `<out>/throughput.json`; also the dev scores of ONNX
 * Runtime's dynamic int8 model and of the W8A8 model on tessera's int8
 * kernels and as its f32 emulation, to show what each speed buys.
 */
export async function ptqThroughput(
  reportOnly: boolean,
  task: GlueTaskName,
  runDir: (task: string, recipe: string) => string,
  out: string,
  runs: number,
  tokenizer: BertTokenizer,
): Promise<string> {
  const file = join(out, "throughput.json");
  type Cached = {
    rows: SpeedRow[];
    ortInt8Dev: Record<string, number>;
    w8a8Dev?: { integer: Record<string, number>; fake: Record<string, number> };
  };
  let cached = readJson<Cached>(file);
  if (cached === undefined && reportOnly) return "";
  if (cached === undefined) {
    const files = taskSplits(task);
    const dev = await readSplit(files, "dev");
    const fixed = lengthSortedBatches(dev, tokenizer, 32, 128, true);
    const batch = fixed[fixed.length >> 1].batch;
    const int8Run = await loadFineTunedRun(runDir(task, "int8-a2"));
    const f32Graph = servedGraph(int8Run.spec, 32, 128);
    const int8Graph = servedGraph(int8Run.spec, 32, 128, int8Run.recipe);
    const f32Bytes = Deno.readFileSync(
      join(runDir(task, "int8-a2"), "model.onnx"),
    );
    const { bytes: dynBytes } = dynamicQuantizeOnnx(f32Bytes);
    // W8A8 MinMax on the same model: the speed does not depend on the ranges.
    const train = await readSplit(files, "train");
    const compile = (b: number, s: number) => servedGraph(int8Run.spec, b, s);
    const w8a8 = await calibrate(
      compile,
      calibrationBatches(
        chooseSamples(train.length, SPEED_CALIBRATION, 1).map((i) => train[i]),
        tokenizer,
      ),
      parsePrecision("w8a8"),
      "minmax",
      {},
      undefined,
      engineRunner(),
    );
    const quantisation = {
      weightBits: 8,
      sites: new Map(w8a8.sites.map((s) => [s.value, s])),
    };
    const integerGraph = integerLinears(f32Graph, quantisation);
    const fakeGraph = fakeQuantise(f32Graph, quantisation);
    const rows: SpeedRow[] = [
      await engineSpeed("tessera engine, f32", f32Graph, batch, runs),
      await engineSpeed(
        "tessera engine, int8-a2 served int8",
        int8Graph,
        batch,
        runs,
      ),
      await engineSpeed(
        "tessera engine, W8A8 PTQ on int8 kernels",
        integerGraph,
        batch,
        runs,
      ),
      await engineSpeed(
        "tessera engine, W8A8 PTQ as f32 fake quant",
        fakeGraph,
        batch,
        runs,
      ),
    ];
    // onnxruntime-web fixes its thread count when its WASM module first
    // loads, so only onnxruntime-node also runs on two threads.
    for (const threads of [1, 2]) {
      for (
        const which of threads === 1
          ? ["node", "web"] as const
          : ["node"] as const
      ) {
        for (
          const [label, bytes] of [
            ["f32", f32Bytes],
            ["dynamic int8", dynBytes],
            ["tessera's W8A8 export (MatMulInteger)", exportOnnx(integerGraph)],
          ] as const
        ) {
          const row = await ortSpeed(
            which,
            label,
            bytes,
            f32Graph,
            batch,
            threads,
            runs,
          );
          console.error(
            `speed: ${row.engine} ×${threads}: ${row.ms.toFixed(0)} ms`,
          );
          rows.push(row);
        }
      }
    }
    const ortInt8 = await scoreSplit(
      task,
      dev,
      fixed,
      () => f32Graph,
      await ortRunner(dynBytes),
    );
    const devScore = async (graph: Graph) =>
      (await scoreSplit(task, dev, fixed, () => graph, engineRunner())).metrics;
    cached = {
      rows,
      ortInt8Dev: ortInt8.metrics,
      w8a8Dev: {
        integer: await devScore(integerGraph),
        fake: await devScore(fakeGraph),
      },
    };
    await Deno.writeTextFile(file, JSON.stringify(cached, null, 1));
  }
  const score = (metrics: Record<string, number>) =>
    Object.entries(metrics).map(([m, v]) => `${m} ${(100 * v).toFixed(1)}`)
      .join(", ");
  const w8a8 = cached.w8a8Dev === undefined
    ? ""
    : `; W8A8 MinMax (${SPEED_CALIBRATION} calibration sentences) scores ${
      score(cached.w8a8Dev.integer)
    } on the int8 kernels and ${score(cached.w8a8Dev.fake)} as fake quant`;
  return `${speedTable(cached.rows)}\nModel: ${
    runDir(task, "int8-a2")
  } (${task}); onnxruntime's dynamic int8 version of it scores ${
    score(cached.ortInt8Dev)
  } on the ${task} dev set${w8a8}.\n`;
}
