/**
 * A compiled training program → the files of a training artifact (see
 * `runtime/artifact/manifest.ts` for the layout): the two graphs as IR
 * text, the initial weights and AdamW state, the kernel modules the engine
 * instantiates for them, the vocabulary and the manifest. The runtime
 * bundle is added by `write.ts`.
 *
 * Kernel modules are found by building both graphs on the engine once and
 * recording what it instantiates — the very modules a load will ask for,
 * and a check that every node runs on the engine.
 *
 * @module
 */

import { Engine, type WasmSource } from "../../runtime/engine/mod.ts";
import {
  ARTIFACT_FORMAT,
  ARTIFACT_VERSION,
  type ArtifactManifest,
  type OptimizerSpec,
  type StoredTensor,
  type ValueSpec,
} from "../../runtime/artifact/manifest.ts";
import { packWeights } from "../../runtime/artifact/weights.ts";
import { inputRole } from "../analysis/model_feeds.ts";
import { selectF32Params, selectS8Variant } from "../codegen/gemm/features.ts";
import type { GemmParams, GemmVariant } from "../codegen/gemm/params.ts";
import { digestOf } from "../ir/digest.ts";
import { floatAttr, type Graph, intAttr } from "../ir/graph.ts";
import { INLINE_LIMIT, printGraph } from "../ir/printer.ts";
import type { Tensor } from "../ir/tensor.ts";
import { firstMomentName, secondMomentName } from "../passes/optimizer.ts";
import type { TrainingProgram } from "../passes/training_pipeline.ts";
import { initialTrainingState } from "../training/state.ts";

/**
 * The f32 GEMM artifacts ship: the plain multiply-add one, which every
 * engine validates (Node 20 has no relaxed SIMD) and which rounds the same
 * everywhere, so one artifact trains identically in Deno, Node and browsers.
 */
export const ARTIFACT_GEMM: GemmParams = selectF32Params(false);

/**
 * The int8 GEMM variant artifacts ship: the portable exact `relaxed` (two
 * dots per product) where the compiling engine has relaxed SIMD, not the
 * one-dot `relaxed8`, which only engines with an unsigned byte dot run
 * exactly — every variant computes the same integers, so the artifact
 * trains identically wherever it loads.
 */
export const ARTIFACT_INT8: GemmVariant = selectS8Variant(undefined, false);

/** What the manifest records besides the program. */
export interface ArtifactInfo {
  /** The ONNX file, as given. */
  readonly model: string;
  /** Batch size and sequence length the program was compiled for. */
  readonly batch: number;
  readonly seq: number;
  /** Run seed. */
  readonly seed: number;
  /** Head spec. */
  readonly head: string;
  /** Recipe name. */
  readonly recipe: string;
  /** Dropout probability of the training step (0: none). */
  readonly dropout: number;
  /** Text of vocab.txt. */
  readonly vocab: string;
}

/** An artifact's files (paths relative to its folder) and manifest. */
export interface ArtifactFiles {
  /** The manifest, also among `files` as manifest.json. */
  readonly manifest: ArtifactManifest;
  /** Every file but the runtime bundle. */
  readonly files: Map<string, Uint8Array | string>;
  /** Nodes that would run on the engine's reference fallback, as `op (node)`. */
  readonly fallbacks: readonly string[];
}

/** The name's value type in `graph`, as a manifest entry. */
function valueSpec(graph: Graph, name: string): ValueSpec {
  const type = graph.types.get(name);
  if (type === undefined || type.shape.some((d) => typeof d !== "number")) {
    throw new Error(`'${name}' has no static type in graph '${graph.name}'.`);
  }
  return { name, dtype: type.dtype, shape: type.shape as number[] };
}

/** Optimizer settings, read back from the step graph's nodes. */
function optimizerSpec(step: Graph): OptimizerSpec {
  const node = (op: string) => step.nodes.find((n) => n.op === op)!;
  const schedule = node("LinearWarmupDecay").attrs;
  const adam = step.nodes.filter((n) => n.op === "AdamW");
  const maxNorm = floatAttr(node("GlobalNormClip").attrs, "max_norm", 1);
  return {
    kind: "AdamW",
    lr: floatAttr(schedule, "lr", 0),
    totalSteps: intAttr(schedule, "total_steps", 0),
    warmupSteps: intAttr(schedule, "warmup_steps", 0),
    beta1: floatAttr(adam[0].attrs, "beta1", 0.9),
    beta2: floatAttr(adam[0].attrs, "beta2", 0.999),
    epsilon: floatAttr(adam[0].attrs, "epsilon", 1e-8),
    weightDecay: Math.max(
      ...adam.map((n) => floatAttr(n.attrs, "weight_decay", 0)),
    ),
    // JSON has no Infinity: null means "never clips".
    maxGradNorm: Number.isFinite(maxNorm) ? maxNorm : null,
  };
}

/**
 * The constants of `graphs` that print as a digest and are not parameters:
 * the parser needs their data back.
 */
function largeConstants(
  graphs: readonly Graph[],
  params: ReadonlySet<string>,
): [string, Tensor][] {
  const found = new Map<string, Tensor>();
  for (const g of graphs) {
    for (const [name, t] of g.constants) {
      if (params.has(name) || t.data.length <= INLINE_LIMIT) continue;
      const seen = found.get(name);
      if (seen !== undefined && digestOf(seen) !== digestOf(t)) {
        throw new Error(
          `Constant '${name}' differs between the step and forward graphs; the artifact cannot store both.`,
        );
      }
      found.set(name, t);
    }
  }
  return [...found];
}

/** Builds `graph` on the engine, recording its kernel modules and fallbacks. */
async function recordKernels(
  graph: Graph,
  resident: ReadonlyMap<string, Tensor> | undefined,
  modules: Map<string, Uint8Array>,
): Promise<string[]> {
  const engine = await Engine.create(graph, {
    gemm: ARTIFACT_GEMM,
    int8: ARTIFACT_INT8,
    resident,
    onModule: (s: WasmSource) => void modules.set(s.name, s.bytes),
  });
  return engine.fallbacks().map((f) => `${f.op} (${f.node})`);
}

/** The manifest as JSON, one key a line but number arrays (shapes) kept on one. */
function manifestText(manifest: ArtifactManifest): string {
  return JSON.stringify(manifest, null, 1).replace(
    /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g,
    (_, items: string) => `[${items.replace(/\s+/g, "")}]`,
  ) + "\n";
}

/** The artifact files of `program`. */
export async function buildArtifact(
  program: TrainingProgram,
  info: ArtifactInfo,
): Promise<ArtifactFiles> {
  const { step, evaluation: forward } = program;
  const state = initialTrainingState(
    program.gradients,
    info.seed,
    program.params,
  );
  const params = new Set(program.params);
  const stored: [string, Tensor][] = program.params.flatMap((p) =>
    [p, firstMomentName(p), secondMomentName(p)].map((n) =>
      [n, state.tensors.get(n)!] as [string, Tensor]
    )
  );
  const constants = largeConstants([step, forward], params);
  const { bytes: weights, entries } = packWeights([...stored, ...constants]);
  const entry = (name: string): StoredTensor => entries.get(name)!;
  const modules = new Map<string, Uint8Array>();
  const fallbacks = [
    ...await recordKernels(step, state.tensors, modules),
    ...await recordKernels(forward, undefined, modules),
  ];
  const kernels = [...modules].sort(([a], [b]) => a.localeCompare(b));
  const labels = new Set(program.labels);
  const isUpdate = (name: string) => name.endsWith("@next");
  const adam = new Map(
    step.nodes.filter((n) => n.op === "AdamW").map((n) => [n.inputs[0], n]),
  );
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    version: ARTIFACT_VERSION,
    model: info.model,
    batch: info.batch,
    seq: info.seq,
    seed: info.seed,
    head: info.head,
    recipe: info.recipe,
    dropout: info.dropout,
    inputs: forward.inputs.filter((n) => !labels.has(n)).map((n) => ({
      ...valueSpec(forward, n),
      role: inputRole(n),
    })),
    labels: program.labels.map((n) => valueSpec(forward, n)),
    outputs: {
      step: step.outputs.filter((n) => !isUpdate(n)).map((n) =>
        valueSpec(step, n)
      ),
      forward: forward.outputs.map((n) => valueSpec(forward, n)),
    },
    graphs: { step: "step.ir", forward: "forward.ir" },
    weights: { file: "weights.bin", bytes: weights.length },
    parameters: program.params.map((p) => ({
      ...entry(p),
      decay: floatAttr(adam.get(p)?.attrs ?? {}, "weight_decay", 0) > 0,
      m: entry(firstMomentName(p)),
      v: entry(secondMomentName(p)),
    })),
    constants: constants.map(([name]) => entry(name)),
    optimizer: optimizerSpec(step),
    gemm: ARTIFACT_GEMM,
    int8: ARTIFACT_INT8,
    kernels: kernels.map(([name, bytes]) => ({
      name,
      file: `kernels/${name}.wasm`,
      bytes: bytes.length,
    })),
    tokenizer: { vocab: "vocab.txt", lowerCase: true },
    runtime: "tessera.js",
  };
  const files = new Map<string, Uint8Array | string>([
    ["step.ir", printGraph(step)],
    ["forward.ir", printGraph(forward)],
    ["weights.bin", weights],
    ["vocab.txt", info.vocab],
    // Node reads the folder's .js files as ES modules, whatever its version.
    ["package.json", '{ "type": "module" }\n'],
    ...kernels.map(([name, bytes]) =>
      [`kernels/${name}.wasm`, bytes] as [string, Uint8Array]
    ),
    ["manifest.json", manifestText(manifest)],
  ]);
  return { manifest, files, fallbacks };
}
