/**
 * The generated GEMM module of a tile shape as the engine instantiates it:
 * one per (params, shared memory or not), generated once per process and
 * shared by the f32 and int8 product kernels.
 *
 * @module
 */

import {
  type GemmParams,
  generateGemm,
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
