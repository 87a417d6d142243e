/**
 * The f32 kernel manifest: every shipped variant of each family, with the
 * sizes its tests sweep (edge cases around the 4-lane width plus real BERT
 * sizes). The same entries generate every module for validation and can
 * drive a benchmark.
 * @module
 */

import { ACTIVATION_KERNELS, generateActivation } from "./activation.ts";
import { generateAdamW } from "./adamw.ts";
import { generateColumnSums } from "./column_sums.ts";
import { BINARY_FORMS, BINARY_OPS, generateBinary } from "./binary.ts";
import type { F32Module, GenerateOptions } from "./emit.ts";
import { generateDropoutBwd, generateDropoutFwd } from "./dropout.ts";
import { generateEmbedding } from "./embedding.ts";
import { generateGatherRows } from "./gather_rows.ts";
import {
  generateLayerNormBwd,
  generateLayerNormFwd,
  type LayerNormParams,
} from "./layer_norm.ts";
import { generateGradScale, generateSumSquares } from "./grad_norm.ts";
import type { KernelFn } from "./loader.ts";
import {
  generateCrossEntropyBwd,
  generateCrossEntropyFwd,
  generateMseBwd,
  generateMseFwd,
} from "./loss.ts";
import { generateSoftmaxBwd, generateSoftmaxFwd } from "./softmax.ts";

/** Vector-width edge cases: below, at and above one and two vectors. */
export const EDGE_SIZES: readonly number[] = [1, 2, 3, 4, 5, 7, 8, 9, 13];

/**
 * LayerNorm widths: the edge cases, then the hidden sizes of BERT-tiny (128),
 * -mini (256), TinyBERT (312), -small (512), -base (768) and -large (1024).
 */
export const LAYER_NORM_MANIFEST: readonly LayerNormParams[] = [
  ...EDGE_SIZES,
  128,
  256,
  312,
  512,
  768,
  1024,
].map((hidden) => ({ hidden }));

/** Row lengths the runtime-sized families are swept over. */
export const SWEEP_SIZES: readonly number[] = [...EDGE_SIZES, 64, 128, 130];

/** One kernel family: what it ships and the sizes its tests sweep. */
export interface F32FamilyEntry {
  /** Family name, the file that generates it. */
  readonly family:
    | "layer_norm"
    | "softmax"
    | "activation"
    | "embedding"
    | "loss"
    | "adamw"
    | "grad_norm"
    | "binary"
    | "gather_rows"
    | "dropout"
    | "column_sums";
  /** Generates every shipped kernel of the family. */
  generate(options?: GenerateOptions): F32Module<KernelFn>[];
  /** Row widths (LayerNorm: the compile-time H) or lengths swept in tests. */
  readonly sizes: readonly number[];
}

/** The manifest: every f32 family. */
export const F32_MANIFEST: readonly F32FamilyEntry[] = [
  {
    family: "layer_norm",
    generate: (options) =>
      LAYER_NORM_MANIFEST.flatMap((p) => [
        generateLayerNormFwd(p, options),
        generateLayerNormBwd(p, options),
      ]),
    sizes: LAYER_NORM_MANIFEST.map((p) => p.hidden),
  },
  {
    family: "softmax",
    generate: (options) => [
      generateSoftmaxFwd({ masked: false }, options),
      generateSoftmaxFwd({ masked: true }, options),
      generateSoftmaxBwd(options),
    ],
    sizes: SWEEP_SIZES,
  },
  {
    family: "activation",
    generate: (options) =>
      ACTIVATION_KERNELS.map((k) => generateActivation(k, options)),
    sizes: SWEEP_SIZES,
  },
  {
    family: "embedding",
    generate: (options) => [
      generateEmbedding("fwd", options),
      generateEmbedding("bwd", options),
    ],
    sizes: SWEEP_SIZES,
  },
  {
    family: "loss",
    generate: (options) => [
      generateCrossEntropyFwd(options),
      generateCrossEntropyBwd(options),
      generateMseFwd(options),
      generateMseBwd(options),
    ],
    sizes: SWEEP_SIZES,
  },
  { family: "adamw", generate: (o) => [generateAdamW(o)], sizes: SWEEP_SIZES },
  {
    family: "grad_norm",
    generate: (o) => [generateSumSquares(o), generateGradScale(o)],
    sizes: SWEEP_SIZES,
  },
  {
    family: "binary",
    generate: (o) =>
      BINARY_OPS.flatMap((op) =>
        BINARY_FORMS.map((form) => generateBinary(op, form, o))
      ),
    sizes: SWEEP_SIZES,
  },
  {
    family: "gather_rows",
    generate: (o) => [generateGatherRows(o)],
    sizes: SWEEP_SIZES,
  },
  {
    family: "dropout",
    generate: (o) => [generateDropoutFwd(o), generateDropoutBwd(o)],
    sizes: SWEEP_SIZES,
  },
  {
    family: "column_sums",
    generate: (o) => [generateColumnSums(o)],
    sizes: SWEEP_SIZES,
  },
];

/** Every kernel the manifest ships, for validation and benchmarks. */
export function allF32Kernels(
  options: GenerateOptions = {},
): F32Module<KernelFn>[] {
  return F32_MANIFEST.flatMap((entry) => entry.generate(options));
}
