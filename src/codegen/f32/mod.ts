/**
 * f32 kernels for the non-GEMM parts of BERT fine-tuning, forward and
 * backward: LayerNorm, masked softmax, erf/GELU/tanh, embedding gather and
 * scatter-add, cross-entropy and MSE losses, AdamW, the gradient norm and
 * elementwise Add/Sub/Mul/Div, the row gather of Transpose, training
 * dropout and the column sums of the bias gradients. One parameterised
 * generator per family, a manifest, a loader, and double-precision scalar
 * references.
 * @module
 */

export * from "./emit.ts";
export * from "./loader.ts";
export * from "./math.ts";
export * from "./layer_norm.ts";
export * from "./softmax.ts";
export * from "./activation.ts";
export * from "./embedding.ts";
export * from "./loss.ts";
export * from "./adamw.ts";
export * from "./grad_norm.ts";
export * from "./binary.ts";
export * from "./gather_rows.ts";
export * from "./dropout.ts";
export * from "./column_sums.ts";
export * from "./manifest.ts";
export * from "./reference.ts";
