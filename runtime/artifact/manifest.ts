/**
 * The training artifact's manifest (`manifest.json`): what `deno task
 * compile --train --out DIR` wrote and what {@linkcode loadArtifact} needs to
 * run it, as plain JSON. Paths are relative to the artifact folder.
 *
 * ```text
 * DIR/manifest.json   this file
 * DIR/step.ir         the training step (forward, backward, AdamW) as IR text
 * DIR/forward.ir      the forward graph at evaluation rounding (loss, logits)
 * DIR/weights.bin     initial parameters, optimizer moments, large constants
 * DIR/kernels/*.wasm  every WebAssembly kernel module the engine instantiates
 * DIR/vocab.txt       the WordPiece vocabulary
 * DIR/tessera.js      the runtime, one ES module (Deno, Node, browsers)
 * ```
 *
 * @module
 */

import type { DType } from "../../src/ir/dtype.ts";
import type { GemmParams, GemmVariant } from "../../src/codegen/gemm/params.ts";

/** The `format` field of every manifest. */
export const ARTIFACT_FORMAT = "tessera-training-artifact";

/** The manifest version this runtime reads. */
export const ARTIFACT_VERSION = 2;

/** A graph input or output. */
export interface ValueSpec {
  /** Name in the graphs. */
  readonly name: string;
  /** Element type. */
  readonly dtype: DType;
  /** Static shape. */
  readonly shape: readonly number[];
}

/** A token input, with what it carries (judged by its name, as the CLI does). */
export interface TokenInputSpec extends ValueSpec {
  /** Token ids, attention mask or segment ids. */
  readonly role: "ids" | "mask" | "types";
}

/**
 * A tensor stored in `weights.bin`: its elements as the IR holds them in
 * memory, little-endian (f16 widened to f32; i64/u64 as f64), from `offset`.
 */
export interface StoredTensor extends ValueSpec {
  /** Byte offset in `weights.bin` (a multiple of 8). */
  readonly offset: number;
  /** Byte length. */
  readonly bytes: number;
}

/** A trainable parameter with its AdamW moments. */
export interface ParameterSpec extends StoredTensor {
  /** Whether AdamW decays it (biases and LayerNorm are exempt). */
  readonly decay: boolean;
  /** Its first moment's state tensor (`p@m`). */
  readonly m: StoredTensor;
  /** Its second moment's state tensor (`p@v`). */
  readonly v: StoredTensor;
}

/** Settings of the optimizer, as compiled into the step graph. */
export interface OptimizerSpec {
  /** Always AdamW for now. */
  readonly kind: "AdamW";
  /** Peak learning rate. */
  readonly lr: number;
  /** Steps of the linear schedule; the rate is 0 from there on. */
  readonly totalSteps: number;
  /** Steps of linear warm-up. */
  readonly warmupSteps: number;
  /** Adam β1. */
  readonly beta1: number;
  /** Adam β2. */
  readonly beta2: number;
  /** Adam ε. */
  readonly epsilon: number;
  /** Decoupled weight decay of the decayed parameters. */
  readonly weightDecay: number;
  /** Global gradient-norm clip; null: never clips. */
  readonly maxGradNorm: number | null;
}

/** A kernel module the engine instantiates. */
export interface KernelFileSpec {
  /** The module name kernels ask the engine for. */
  readonly name: string;
  /** Its file, `kernels/<name>.wasm`. */
  readonly file: string;
  /** Its byte length. */
  readonly bytes: number;
}

/** The whole manifest. */
export interface ArtifactManifest {
  /** Always {@linkcode ARTIFACT_FORMAT}. */
  readonly format: string;
  /** {@linkcode ARTIFACT_VERSION} when written. */
  readonly version: number;
  /** The ONNX file it was compiled from (as given on the command line). */
  readonly model: string;
  /** Rows of every batch. */
  readonly batch: number;
  /** Tokens of every row. */
  readonly seq: number;
  /** Run seed (head initialisation, checkpoints' seed). */
  readonly seed: number;
  /** Task head: `classification:N`, `regression` or `span`. */
  readonly head: string;
  /** Precision recipe name (`fp32`, …). */
  readonly recipe: string;
  /**
   * Dropout probability of the training step's hidden and attention sites
   * (0: none); masks are drawn from the seed and the step.
   */
  readonly dropout: number;
  /** The token inputs, in graph order. */
  readonly inputs: readonly TokenInputSpec[];
  /** The labels inputs the head added. */
  readonly labels: readonly ValueSpec[];
  /** Outputs of each graph (the step's parameter updates left out). */
  readonly outputs: {
    readonly step: readonly ValueSpec[];
    readonly forward: readonly ValueSpec[];
  };
  /** IR text files of the two graphs. */
  readonly graphs: { readonly step: string; readonly forward: string };
  /** The weights file and its total length. */
  readonly weights: { readonly file: string; readonly bytes: number };
  /** Trainable parameters in step-graph order. */
  readonly parameters: readonly ParameterSpec[];
  /** Large non-trainable constants either graph refers to by digest. */
  readonly constants: readonly StoredTensor[];
  /** Optimizer settings. */
  readonly optimizer: OptimizerSpec;
  /** The f32 GEMM the kernels were generated for. */
  readonly gemm: GemmParams;
  /** The int8 GEMM variant the kernels were generated for (version 2 on). */
  readonly int8: GemmVariant;
  /** Kernel modules, by the name the engine asks for. */
  readonly kernels: readonly KernelFileSpec[];
  /** Vocabulary file and tokenizer settings. */
  readonly tokenizer: { readonly vocab: string; readonly lowerCase: boolean };
  /** The bundled runtime module. */
  readonly runtime: string;
}

/** A manifest this runtime cannot use. */
export class ArtifactError extends Error {
  /** Builds the error; `message` says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "ArtifactError";
  }
}

/** Parses `manifest.json` text, refusing other formats and versions. */
export function parseManifest(text: string): ArtifactManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ArtifactError(
      `manifest.json is not JSON (${(e as Error).message}).`,
    );
  }
  const m = json as Partial<ArtifactManifest> | null;
  if (m === null || typeof m !== "object" || m.format !== ARTIFACT_FORMAT) {
    throw new ArtifactError(
      `manifest.json is not a tessera training artifact (format '${
        m?.format ?? "none"
      }', expected '${ARTIFACT_FORMAT}').`,
    );
  }
  if (m.version !== ARTIFACT_VERSION) {
    throw new ArtifactError(
      `Artifact version ${m.version} is not supported (this runtime reads version ${ARTIFACT_VERSION}); recompile the artifact or use the tessera.js shipped with it.`,
    );
  }
  return m as ArtifactManifest;
}
