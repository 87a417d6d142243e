/**
 * BFP (dynamic fixed point) kernels, NUMERICS.md §1: parameters and naming,
 * exact exponent arithmetic, the counter PRNG, the scalar reference (the
 * definition), the WASM SIMD generators (max-abs, map, unmap), the runtime
 * wrapper, the manifest and a benchmark.
 * @module
 */

export * from "./params.ts";
export * from "./exponent.ts";
export { mix32, prngHash, prngKeys, prngUniform } from "./prng.ts";
export * from "./reference.ts";
export type { Prologue } from "./emit.ts";
export * from "./generate.ts";
export * from "./kernel.ts";
export * from "./manifest.ts";
export * from "./bench.ts";
