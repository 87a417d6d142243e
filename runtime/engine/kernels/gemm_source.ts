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
  type GemmVariant,
  generateGemm,
  kSteps,
  type PackExport,
  runsOnThisEngine,
  selectS8Variant,
} from "../../../src/codegen/gemm/mod.ts";
import { aSpec, bSpec } from "../../../src/codegen/gemm/pack_spec.ts";
import { EngineError } from "../errors.ts";
import type { KernelRuntime, SplitSpec, WasmSource } from "./types.ts";

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

/**
 * The int8 GEMM tile the engine uses (the manifest's 3×12, k unrolled
 * twice) with inner-product `variant` (the engine's `int8` option).
 */
export function s8Params(
  output: "f32" | "i32",
  variant: GemmVariant,
): GemmParams {
  return { family: "s8s8", variant, mr: 3, nr: 12, output, kUnroll: 2 };
}

/**
 * {@linkcode s8Params} for a kernel about to run it: throws unless the
 * variant is exact on this WebAssembly engine.
 */
export function runnableS8Params(
  output: "f32" | "i32",
  variant: GemmVariant,
): GemmParams {
  const params = s8Params(output, variant);
  if (!runsOnThisEngine(params)) {
    throw new EngineError(
      `The int8 GEMM variant '${variant}' is not exact on this WebAssembly engine (relaxed8 needs a relaxed dot that multiplies unsigned by signed bytes without saturating, relaxed needs relaxed SIMD); use '${selectS8Variant()}'.`,
    );
  }
  return params;
}

/**
 * How a packer call `pack(src, lineStride, kStride, lines, kLen, dst)`
 * divides: by whole panels of lines (the tile), the source advancing a line
 * stride and the destination a panel's bytes per panel.
 */
export function packSplit(params: GemmParams, operand: "a" | "b"): SplitSpec {
  const s = operand === "a" ? aSpec(params) : bSpec(params);
  return {
    count: 3,
    grain: s.tile,
    plan(args) {
      const panelBytes = Math.ceil(args[4] / s.kStep) * s.tile * s.lineBytes +
        s.headerBytes;
      const lineBytes = panelBytes / s.tile;
      const srcLine = args[1] << s.elemShift;
      return {
        pointers: [[0, srcLine], [5, lineBytes]],
        bytesPerUnit: (args[4] << s.elemShift) + lineBytes,
      };
    },
  };
}

/**
 * The `packA` and `packB` exports of GEMM module `source`, split between
 * the engine's threads by panels. `packA`'s result is an OR over the
 * panels: right for the range flag of the int8 and f32 families, not for
 * s16s8's max |A|, whose packer stays whole.
 */
export async function packers(
  rt: KernelRuntime,
  source: WasmSource,
  params: GemmParams,
): Promise<{ packA: PackExport; packB: PackExport }> {
  if (params.family === "s16s8") {
    const ex = await rt.instantiate(source);
    return { packA: ex.packA as PackExport, packB: ex.packB as PackExport };
  }
  const [packA, packB] = await Promise.all([
    rt.split(source, "packA", packSplit(params, "a")),
    rt.split(source, "packB", packSplit(params, "b")),
  ]);
  return { packA, packB };
}
