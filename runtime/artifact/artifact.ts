/**
 * A loaded training artifact: the step graph on the WebAssembly engine with
 * the weights and AdamW state resident in engine memory, and the forward
 * graph (built on first use) for evaluation and prediction. Kernels are
 * instantiated from the `.wasm` files the artifact ships.
 *
 * @example
 * ```ts
 * const model = await loadArtifact("build/sst2"); // a URL in a browser
 * const { loss } = model.trainStep({ texts: ["a fine film", "dull"], labels: [1, 0] });
 * const { probabilities } = await model.predict("a fine film");
 * await writeFileAtomic("build/sst2/checkpoint.bin", model.saveCheckpoint());
 * ```
 *
 * @module
 */

import { BertTokenizer } from "../data/tokenizer.ts";
import { accuracy, pearson, spearman } from "../data/metrics.ts";
import { Engine, type EngineOptions, type WasmSource } from "../engine/mod.ts";
import type { Graph } from "../../src/ir/graph.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { scalar, type Tensor } from "../../src/ir/tensor.ts";
import {
  GRAD_NORM_OUTPUT,
  LR_OUTPUT,
  STEP_INPUT,
} from "../../src/passes/optimizer.ts";
import { decodeState, encodeState } from "../../src/training/checkpoint.ts";
import {
  checkStateFits,
  type TrainingState,
} from "../../src/training/state.ts";
import { type Batch, encodeBatch, type TextInput } from "./feeds.ts";
import { artifactReader, type ArtifactSource } from "./files.ts";
import {
  ArtifactError,
  type ArtifactManifest,
  parseManifest,
} from "./manifest.ts";
import { readTensor } from "./weights.ts";

/** What one training step reports. */
export interface StepResult {
  /** Updates done, this one included. */
  readonly step: number;
  /** The batch's loss, before this update. */
  readonly loss: number;
  /** The learning rate this update used. */
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
}

/** What {@linkcode TrainingArtifact.evaluate} reports. */
export interface Evaluation {
  /** Mean of the batches' losses. */
  readonly loss: number;
  /** Logits of every real row, in order. */
  readonly logits: number[][];
  /** Class index (classification) or value (regression) of every real row. */
  readonly predictions: number[];
  /** Accuracy, or Pearson and Spearman for regression (when labels were given). */
  readonly metrics: Record<string, number>;
}

/** What {@linkcode TrainingArtifact.predict} answers, by head. */
export type Prediction =
  | {
    readonly logits: number[];
    readonly probabilities: number[];
    readonly label: number;
  }
  | { readonly value: number }
  | { readonly startLogits: number[]; readonly endLogits: number[] };

/** A training artifact bound to engines; see the module documentation. */
export class TrainingArtifact {
  /** The manifest it was loaded with. */
  readonly manifest: ArtifactManifest;
  /** The artifact's tokenizer. */
  readonly tokenizer: BertTokenizer;
  readonly #step: Engine;
  readonly #stepGraph: Graph;
  readonly #forwardGraph: Graph;
  readonly #engineOptions: EngineOptions;
  #forward: Promise<Engine> | undefined;
  #forwardStale = false;
  #done = 0;

  /** Use {@linkcode loadArtifact}. */
  constructor(parts: {
    manifest: ArtifactManifest;
    tokenizer: BertTokenizer;
    step: Engine;
    stepGraph: Graph;
    forwardGraph: Graph;
    engineOptions: EngineOptions;
  }) {
    this.manifest = parts.manifest;
    this.tokenizer = parts.tokenizer;
    this.#step = parts.step;
    this.#stepGraph = parts.stepGraph;
    this.#forwardGraph = parts.forwardGraph;
    this.#engineOptions = parts.engineOptions;
  }

  /** Updates done so far (the next step's `step` input). */
  get step(): number {
    return this.#done;
  }

  /**
   * The run's seed: compiled into the head's initial weights and the dropout
   * masks (drawn from seed and step), and carried by checkpoints.
   */
  get seed(): number {
    return this.manifest.seed;
  }

  /** One optimizer step on `batch` (texts with labels, or encoded feeds). */
  trainStep(batch: Batch): StepResult {
    if ("texts" in batch && batch.labels === undefined) {
      throw new ArtifactError("trainStep needs labels: one per text.");
    }
    const { feeds } = encodeBatch(this.manifest, this.tokenizer, batch);
    feeds.set(STEP_INPUT, scalar("i64", this.#done));
    const out = this.#step.run(feeds, { views: true });
    const value = (name: string) => out.get(name)!.data[0];
    const result = {
      step: this.#done + 1,
      loss: value("loss"),
      lr: value(LR_OUTPUT),
      gradNorm: value(GRAD_NORM_OUTPUT),
    };
    this.#done++;
    this.#forwardStale = true;
    return result;
  }

  /** Runs the forward graph on `batches` with the current weights. */
  async evaluate(batches: readonly Batch[]): Promise<Evaluation> {
    const engine = await this.#forwardEngine();
    const logits: number[][] = [];
    const gold: number[] = [];
    let loss = 0;
    for (const batch of batches) {
      const encoded = encodeBatch(this.manifest, this.tokenizer, batch);
      const out = engine.run(encoded.feeds, { views: true });
      loss += out.get("loss")!.data[0];
      const t = out.get("logits")!;
      const width = t.data.length / this.manifest.batch;
      for (let r = 0; r < encoded.rows; r++) {
        logits.push(Array.from(t.data.subarray(r * width, (r + 1) * width)));
      }
      gold.push(...encoded.labels);
    }
    const regression = this.manifest.head === "regression";
    const predictions = logits.map((row) =>
      regression ? row[0] : row.indexOf(Math.max(...row))
    );
    const labelled = gold.length === predictions.length && gold.length > 0;
    const metrics: Record<string, number> = !labelled ? {} : regression
      ? {
        pearson: pearson(predictions, gold),
        spearman: spearman(predictions, gold),
      }
      : { accuracy: accuracy(predictions, gold) };
    return { loss: loss / batches.length, logits, predictions, metrics };
  }

  /** The head's answer for one sentence or pair, with the current weights. */
  async predict(input: TextInput): Promise<Prediction> {
    const engine = await this.#forwardEngine();
    const { feeds } = encodeBatch(this.manifest, this.tokenizer, {
      texts: [input],
    });
    const t = engine.run(feeds, { views: true }).get("logits")!;
    const width = t.data.length / this.manifest.batch;
    const row = Array.from(t.data.subarray(0, width));
    if (this.manifest.head === "regression") return { value: row[0] };
    if (this.manifest.head === "span") {
      return {
        startLogits: row.filter((_, i) => i % 2 === 0),
        endLogits: row.filter((_, i) => i % 2 === 1),
      };
    }
    const max = Math.max(...row);
    const exp = row.map((x) => Math.exp(x - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    return {
      logits: row,
      probabilities: exp.map((e) => e / sum),
      label: row.indexOf(max),
    };
  }

  /** The current trainable parameters (copies), by name. */
  parameters(): Map<string, Tensor> {
    return new Map(
      this.manifest.parameters.map((p) => [p.name, this.#step.value(p.name)]),
    );
  }

  /** Weights, AdamW moments, step and seed in the checkpoint format (CRC-checked). */
  saveCheckpoint(): Uint8Array {
    const names = this.manifest.parameters.flatMap((p) => [
      p.name,
      p.m.name,
      p.v.name,
    ]);
    return encodeState({
      step: this.#done,
      seed: this.seed,
      tensors: new Map(names.map((n) => [n, this.#step.value(n)])),
    });
  }

  /**
   * Continues from checkpoint bytes saved by this artifact (or by the
   * fine-tune CLI on the same model, head and seed).
   */
  loadCheckpoint(bytes: Uint8Array): void {
    // A copy: the decoder slices its input, and a Node Buffer's slice is a
    // view into the Buffer's (possibly pooled) memory, not a copy.
    const state: TrainingState = decodeState(new Uint8Array(bytes));
    checkStateFits(this.#stepGraph, state);
    if (state.seed !== this.seed) {
      throw new ArtifactError(
        `The checkpoint's run has seed ${state.seed}, this artifact was compiled with seed ${this.seed} (its dropout masks follow it), so the run would not continue as it was; recompile with --seed ${state.seed}.`,
      );
    }
    for (const [name, t] of state.tensors) this.#step.setConstant(name, t);
    this.#done = state.step;
    this.#forwardStale = true;
  }

  /** The forward engine, with the step engine's current weights. */
  async #forwardEngine(): Promise<Engine> {
    this.#forward ??= Engine.create(this.#forwardGraph, this.#engineOptions);
    const engine = await this.#forward;
    if (this.#forwardStale) {
      for (const p of this.manifest.parameters) {
        engine.setConstant(p.name, this.#step.value(p.name));
      }
      this.#forwardStale = false;
    }
    return engine;
  }
}

/** Compiles a shipped kernel, saying which one this engine refuses. */
async function compileKernel(
  name: string,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    // Integer recipes' GEMMs use relaxed SIMD where the compiling engine had
    // it; Node 20 has it only behind --experimental-wasm-relaxed-simd.
    throw new ArtifactError(
      `This WebAssembly engine cannot compile the artifact's kernel '${name}' (${
        (e as Error).message
      }); run it where relaxed SIMD is available (Deno, Chrome ≥ 114, Node ≥ 22) or use an fp32 artifact.`,
    );
  }
}

/**
 * Loads the artifact at `source`: a folder path (Deno, Node), a base URL
 * (browser; text without a scheme is relative to the page) or a reader.
 */
export async function loadArtifact(
  source: ArtifactSource,
): Promise<TrainingArtifact> {
  const read = artifactReader(source);
  const text = async (path: string) =>
    new TextDecoder().decode(await read(path));
  const manifest = parseManifest(await text("manifest.json"));
  const [stepText, forwardText, weights, vocab, modules] = await Promise.all([
    text(manifest.graphs.step),
    text(manifest.graphs.forward),
    read(manifest.weights.file),
    text(manifest.tokenizer.vocab),
    Promise.all(
      manifest.kernels.map(async (k) =>
        [k.name, await compileKernel(k.name, await read(k.file))] as const
      ),
    ),
  ]);
  const stored = new Map<string, Tensor>();
  const state = new Map<string, Tensor>();
  for (const p of manifest.parameters) {
    for (const spec of [p, p.m, p.v]) {
      state.set(spec.name, readTensor(weights, spec));
    }
    stored.set(p.name, state.get(p.name)!);
  }
  for (const c of manifest.constants) {
    stored.set(c.name, readTensor(weights, c));
  }
  const weightsOf = { weights: (name: string) => stored.get(name) };
  const stepGraph = parseGraph(stepText, weightsOf);
  const forwardGraph = parseGraph(forwardText, weightsOf);
  checkStateFits(stepGraph, { step: 0, seed: manifest.seed, tensors: state });
  const shipped = new Map(modules);
  const engineOptions = {
    gemm: manifest.gemm,
    int8: manifest.int8,
    modules: shipped,
    onModule: (s: WasmSource) => {
      if (!shipped.has(s.name)) {
        throw new ArtifactError(
          `The artifact ships no kernel '${s.name}', which this runtime needs; load it with the tessera.js shipped beside it, or recompile it.`,
        );
      }
    },
  };
  const step = await Engine.create(stepGraph, {
    ...engineOptions,
    resident: state,
  });
  return new TrainingArtifact({
    manifest,
    tokenizer: BertTokenizer.fromVocabText(vocab, {
      lowerCase: manifest.tokenizer.lowerCase,
    }),
    step,
    stepGraph,
    forwardGraph,
    engineOptions,
  });
}
