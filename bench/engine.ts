/**
 * End-to-end throughput of the execution engine on BERT-mini
 * (tessera-bert-mini, 4 layers, hidden 256), real MRPC inputs:
 * tokens/s of one forward pass for the engine, the reference executor,
 * onnxruntime-node and onnxruntime-web (WASM); and of one training step
 * (forward, backward, clipping, AdamW with resident state) for the engine
 * and the reference executor. ONNX Runtime has no training step here.
 *
 * Usage: `deno run -A bench/engine.ts [--batches 8,32] [--seq 128]
 * [--reference-max-batch 8] [--runs 5] [--recipes fp32,int8-a2]
 * [--threads 1,2] [--skip-forward] [--profile]`; the reference executor is slow
 * (double-precision JS loops) and runs once, only up to the given batch.
 * The engine's training step runs for each precision recipe of `--recipes`
 * (default fp32; the reference executor runs the first) and each thread
 * count of `--threads` (default 1; the forward pass and ONNX Runtime always
 * run on one), the steps of all of them alternating, with the memory of each: the arena and the bytes of
 * activations saved from the forward pass for the backward pass
 * (`saved_bytes.ts`); `--profile` prints each recipe's milliseconds per
 * operator. A recipe may carry `+attention-int` (integer Q·Kᵀ and P·V),
 * `+recompute` (the backward recomputes GELU and softmax inputs) and
 * `+dropout` (fine-tuning's default 0.1 at BERT's five sites) and an int8
 * GEMM variant to pin (`+relaxed`: the portable exact kernel, `+relaxed8`,
 * `+dot16`; default the fastest exact one this engine runs), e.g.
 * `int8+attention-int+recompute` or `int8-a2+relaxed`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { Engine } from "../runtime/engine/mod.ts";
import type { GemmVariant } from "../src/codegen/gemm/mod.ts";
import { execute } from "../src/executor/execute.ts";
import { importOnnxFile } from "../src/frontend/import_model.ts";
import type { Graph } from "../src/ir/graph.ts";
import type { Tensor } from "../src/ir/tensor.ts";
import { tensor } from "../src/ir/tensor.ts";
import { runPipeline } from "../src/passes/pipeline.ts";
import { realFeeds, SHARED } from "../tests/models/model_inputs.ts";
import { compileTraining } from "../src/passes/training_pipeline.ts";
import { parseRecipe } from "../src/recipes/mod.ts";
import {
  RECOMPUTE_TARGETS,
  type RecomputeTarget,
} from "../src/passes/recompute.ts";
import { initialTrainingState } from "../src/training/state.ts";
import { savedActivationBytes } from "./saved_bytes.ts";
import { medianMs, ortFeeds } from "./timing.ts";

const MODEL = `${SHARED}models/tessera-bert-mini/encoder.onnx`;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    batches: { type: "string", default: "8,32" },
    seq: { type: "string", default: "128" },
    "reference-max-batch": { type: "string", default: "8" },
    runs: { type: "string", default: "5" },
    recipes: { type: "string", default: "fp32" },
    threads: { type: "string", default: "1" },
    "skip-forward": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});
const BATCHES = values.batches.split(",").map(Number);
const SEQ = Number(values.seq);
const REFERENCE_MAX = Number(values["reference-max-batch"]);
const RUNS = Number(values.runs);
const RECIPES = values.recipes.split(",");
const THREADS = values.threads.split(",").map(Number);

/** int8 GEMM variants a recipe may pin (default: the fastest exact one here). */
const INT8_KERNELS: readonly GemmVariant[] = ["dot16", "relaxed", "relaxed8"];
const RECIPE_VARIANTS: readonly string[] = [
  "attention-int",
  "recompute",
  "dropout",
  ...INT8_KERNELS,
];

interface Row {
  task: string;
  batch: number;
  runtime: string;
  ms: number;
  tokensPerS: number;
  note: string;
}
const rows: Row[] = [];
const record = (
  task: string,
  batch: number,
  runtime: string,
  ms: number,
  note = "",
) => {
  const row = {
    task,
    batch,
    runtime,
    ms,
    tokensPerS: (batch * SEQ) / (ms / 1000),
    note,
  };
  rows.push(row);
  console.error(`${task} b${batch} ${runtime}: ${ms.toFixed(1)} ms ${note}`);
};

/** Wall time in ms of one call. */
function once(run: () => unknown): number {
  const t0 = performance.now();
  run();
  return performance.now() - t0;
}

ortWeb.env.wasm.numThreads = 1;
const modelBytes = Deno.readFileSync(MODEL);

const imported = importOnnxFile(MODEL).graph;
for (const batch of BATCHES) {
  const graph = runPipeline(imported, { batch, seq: SEQ, dims: {} });
  const feeds = await realFeeds(MODEL, graph);

  if (!values["skip-forward"]) await forward(batch, graph, feeds);
  const trainers = [];
  for (const recipe of RECIPES) {
    for (const threads of THREADS) {
      trainers.push(
        await trainer(batch, recipe, threads, imported, new Map(feeds)),
      );
    }
  }
  // Steps of the recipes alternate, so a change in machine load shifts them alike.
  const times = trainers.map(() => [] as number[]);
  for (const t of trainers) t.step();
  for (let r = 0; r < RUNS; r++) {
    trainers.forEach((t, i) => times[i].push(once(t.step)));
  }
  trainers.forEach((t, i) => {
    const sorted = times[i].sort((a, b) => a - b);
    const note = `${t.note}, min ${sorted[0].toFixed(0)} ms`;
    record("train step", batch, t.runtime, sorted[sorted.length >> 1], note);
    if (values.profile) {
      console.error(`  ${t.runtime} ms per op: ${t.profile()}`);
    }
    t.close();
  });
  if (batch <= REFERENCE_MAX) {
    record(
      "train step",
      batch,
      "reference executor",
      once(trainers[0].reference),
      "1 run",
    );
  }
}

/** The forward pass on the engine, the reference and ONNX Runtime. */
async function forward(
  batch: number,
  graph: Graph,
  feeds: Map<string, Tensor>,
): Promise<void> {
  const engine = await Engine.create(graph);
  const fallbacks = engine.fallbacks().length;
  const memMiB = `${
    (engine.memoryBytes / 2 ** 20).toFixed(0)
  } MiB memory, ${fallbacks} fallbacks`;
  record(
    "forward",
    batch,
    "tessera engine",
    await medianMs(() => engine.run(feeds, { views: true }), RUNS),
    memMiB,
  );
  if (batch <= REFERENCE_MAX) {
    record(
      "forward",
      batch,
      "reference executor",
      once(() => execute(graph, feeds)),
      "1 run",
    );
  }
  for (
    const [name, ort] of [["onnxruntime-node", ortNode], [
      "onnxruntime-web",
      ortWeb,
    ]] as const
  ) {
    const api = ort as typeof ortWeb;
    const session = await api.InferenceSession.create(modelBytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: [name === "onnxruntime-web" ? "wasm" : "cpu"],
    });
    const inputs = ortFeeds(api, feeds);
    record(
      "forward",
      batch,
      name,
      await medianMs(() => session.run(inputs), RUNS),
    );
    await session.release();
  }
}

/**
 * The engine's training step of `recipe` (resident state, real inputs),
 * its memory in words, its per-operator profile, and the same step on the
 * reference executor.
 */
async function trainer(
  batch: number,
  recipe: string,
  threads: number,
  imported: Graph,
  feeds: Map<string, Tensor>,
) {
  const [name, ...variants] = recipe.split("+");
  for (const v of variants) {
    if (!RECIPE_VARIANTS.includes(v)) {
      throw new Error(`Unknown recipe variant '+${v}' in '${recipe}'.`);
    }
  }
  const int8 = INT8_KERNELS.find((k) => variants.includes(k));
  const program = compileTraining(imported, {
    batch,
    seq: SEQ,
    head: "classification:2",
    lr: 2e-5,
    totalSteps: 1000,
    recipe: parseRecipe(name, {
      attentionInt: variants.includes("attention-int") || undefined,
    }),
    recompute: variants.includes("recompute")
      ? Object.keys(RECOMPUTE_TARGETS) as RecomputeTarget[]
      : [],
    // Fine-tuning's default (`deno task finetune --dropout 0.1`).
    dropout: variants.includes("dropout")
      ? { hidden: 0.1, attention: 0.1 }
      : undefined,
  });
  const state = initialTrainingState(program.gradients, 1, program.params);
  const labels = tensor(
    "i64",
    [batch],
    Array.from({ length: batch }, (_, i) => i % 2),
  );
  const batchFeeds = new Map([...feeds, [program.labels[0], labels]]);
  const engine = await Engine.create(program.step, {
    resident: state.tensors,
    threads,
    int8,
  });
  let k = 0;
  const next = () =>
    new Map([...batchFeeds, ["step", tensor("i64", [], [k++])]]);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return {
    runtime: `tessera engine ${recipe}, ${engine.threads} thread${
      engine.threads > 1 ? "s" : ""
    }`,
    close: () => engine.close(),
    step: () => engine.run(next(), { views: true }),
    note: `${mib(engine.memoryBytes)} memory, arena ${
      mib(engine.layout.plan.arenaBytes)
    }, saved activations ${
      mib(savedActivationBytes(engine.graph))
    }, ${engine.fallbacks().length} fallbacks`,
    profile: () =>
      [...engine.profile(next())].map(([op, t]) => `${op} ${t.toFixed(1)}`)
        .join(", "),
    reference: () =>
      execute(
        program.step,
        new Map([...batchFeeds, ...state.tensors, [
          "step",
          tensor("i64", [], [0]),
        ]]),
      ),
  };
}

console.log(
  `\nBERT-mini (tessera-bert-mini), seq ${SEQ}, ${navigator.userAgent}`,
);
console.log("| task | batch | runtime | ms | tokens/s | note |");
console.log("|---|---:|---|---:|---:|---|");
for (const r of rows) {
  console.log(
    `| ${r.task} | ${r.batch} | ${r.runtime} | ${r.ms.toFixed(1)} | ${
      r.tokensPerS.toFixed(0)
    } | ${r.note} |`,
  );
}
