/**
 * The generated GEMM module of a tile shape as the engine instantiates it:
 * one per (params, shared memory or not), generated once per process and
 * shared by the f32 and int8 product kernels.
 *
 * @module
 */

import {
  A_BLOCK_BYTES,
  gemmLayout,
  type GemmParams,
  generateGemm,
  kSteps,
  selectS8Variant,
} from "../../../src/codegen/gemm/mod.ts";
import type { WasmSource } from "./types.ts";

const sources = new Map<string, WasmSource>();

/** The module of `params`, importing a shared memory when `shared`. */
export function gemmSource(params: GemmParams, shared: boolean): WasmSource {
  const key = `${JSON.stringify(params)}${shared ? "/shared" : ""}`;
  let source = sources.get(key);
  if (source === undefined) {
    const generated = generateGemm(params, shared);
    source = { name: generated.name, bytes: generated.bytes };
    sources.set(key, source);
  }
  return source;
}

/**
 * Row tiles of packed A per cache block for a reduction of length `k`: the
 * `blockTiles` argument of every engine GEMM call.
 */
export function blockTilesFor(params: GemmParams, k: number): number {
  const aTile = kSteps(params, k) * params.mr *
    gemmLayout(params).aRowStepBytes;
  return Math.max(1, Math.floor(A_BLOCK_BYTES / aTile));
}

/** The int8 GEMM tile the engine uses (the manifest's 3×12, k unrolled twice). */
export function s8Params(output: "f32" | "i32"): GemmParams {
  return {
    family: "s8s8",
    variant: selectS8Variant(),
    mr: 3,
    nr: 12,
    output,
    kUnroll: 2,
  };
}
