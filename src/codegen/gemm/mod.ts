/**
 * GEMM kernels: parameters and naming, the generator, packing, the runtime
 * wrapper, feature detection, scalar references and the manifest.
 * @module
 */

export * from "./params.ts";
export * from "./matrix.ts";
export * from "./generate.ts";
export * from "./pack.ts";
export * from "./pack_reference.ts";
export * from "./kernel.ts";
export * from "./features.ts";
export * from "./reference.ts";
export * from "./manifest.ts";
export * from "./parallel.ts";
