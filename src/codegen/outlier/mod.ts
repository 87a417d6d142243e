/**
 * Outlier treatments of NUMERICS.md §3: Approach 1 (`split`, BFP8 inliers +
 * BFP12 outliers) and Approach 2 (`tile`, BFP8 remainder + integer k), as
 * scalar references, WASM passes over X, and the forward linear layer on the
 * GEMM kernels.
 * @module
 */

export * from "./params.ts";
export * from "./reference.ts";
export * from "./prologue.ts";
export * from "./kernel.ts";
export * from "./linear.ts";
export * from "./bench.ts";
