/**
 * The generated BFP kernels of `src/codegen/bfp` (max-abs, map, unmap, with
 * an optional element prologue for the outlier passes) bound to the
 * engine's memory, and the host steps between them: one exact frexp per
 * exponent group and the PRNG keys of a node's stochastic stream. The
 * quantising kernels (`quantize.ts`, `outlier_map.ts`) share these so that
 * every map draws exactly what the reference operators draw.
 *
 * @module
 */

import {
  type BfpModule,
  type BfpParams,
  frexpExponent,
  generateBfp,
  mapFactors,
  type MapFn,
  type MaxAbsFn,
  prngKeys,
  type Prologue,
  stepFactors,
  type UnmapFn,
} from "../../../src/codegen/bfp/mod.ts";
import { intAttr, type Node, stringAttr } from "../../../src/ir/graph.ts";
import { streamSeed } from "../../../src/ops/quantize_ops.ts";
import type { KernelRuntime, SplitSpec } from "./types.ts";

/** One BFP parameter set's kernels, instantiated on the engine memory. */
export interface BfpFunctions {
  /** The parameters they were generated for. */
  readonly params: BfpParams;
  /** Group maxima of |x| (after the prologue). */
  readonly maxAbs: MaxAbsFn;
  /**
   * The map with the prologue applied to x first (rows split between the
   * engine's threads unless the groups are rows).
   */
  readonly map: MapFn;
  /** The dequantise (no prologue; split like the map). */
  readonly unmap: UnmapFn;
}

const modules = new Map<string, BfpModule & { name: string }>();

/**
 * How `map(x, q, …)` and `unmap(q, y, …)` divide by rows: the f32 and
 * mantissa pointers advance a row each, and the map's PRNG counter base
 * by a row's elements, so every element draws what it draws in one call.
 * Only where the scales do not depend on the row (per-tensor and
 * per-column groups).
 */
export function bfpRowSplit(
  bits: number,
  kind: "map" | "unmap",
): SplitSpec {
  const mantissa = bits === 8 ? 1 : 2;
  const [f32Arg, qArg] = kind === "map" ? [0, 1] : [1, 0];
  return {
    count: 2,
    grain: 1,
    plan(args) {
      const cols = args[3];
      const pointers: [number, number][] = [
        [f32Arg, 4 * cols],
        [qArg, mantissa * cols],
      ];
      if (kind === "map") pointers.push([5, cols]);
      return { pointers, bytesPerUnit: (4 + mantissa) * cols };
    },
  };
}

/** The kernels for `params` (and `prologue`), generated once per process. */
export async function bfpFunctions(
  rt: KernelRuntime,
  params: BfpParams,
  prologue?: Prologue,
): Promise<BfpFunctions> {
  const name = `bfp_b${params.bits}_${params.rounding}_${params.granularity}${
    prologue ? `_${prologue.name}` : ""
  }`;
  const variant = `${name}${rt.shared ? "/shared" : ""}`;
  let module = modules.get(variant);
  if (module === undefined) {
    module = {
      ...generateBfp(params, { prologue, shared: rt.shared }),
      name,
    };
    modules.set(variant, module);
  }
  const ex = await rt.instantiate(module);
  const byRows = params.granularity !== "row";
  const [map, unmap] = byRows
    ? await Promise.all([
      rt.split(module, module.names.map, bfpRowSplit(params.bits, "map")),
      rt.split(module, module.names.unmap, bfpRowSplit(params.bits, "unmap")),
    ])
    : [ex[module.names.map], ex[module.names.unmap]];
  return {
    params,
    maxAbs: ex[module.names.maxAbs] as MaxAbsFn,
    map: map as MapFn,
    unmap: unmap as UnmapFn,
  };
}

/**
 * Writes the two scale factors per exponent group (`map`: 1/Δ, `step`: Δ)
 * as the generated kernels read them: f32[2·G], factor a of group g at g,
 * factor b at G + g.
 */
export function writeScales(
  f32: Float32Array,
  at: number,
  exponents: ArrayLike<number>,
  bits: number,
  kind: "map" | "step",
): void {
  const groups = exponents.length;
  for (let g = 0; g < groups; g++) {
    const [a, b] = (kind === "map" ? mapFactors : stepFactors)(
      exponents[g],
      bits,
    );
    f32[at / 4 + g] = a;
    f32[at / 4 + groups + g] = b;
  }
}

/** The frexp exponent of one f32 maximum at byte `at` (throws on NaN/∞). */
export function exponentAt(f32: Float32Array, at: number): number {
  return frexpExponent(f32[at / 4]);
}

/**
 * The PRNG keys of a node's map for the run: `streamSeed(stream, step)` of
 * its seed input (input 1), as the reference operators key it; zeros when
 * it rounds to nearest (the kernels ignore them then).
 */
export function keysOf(
  node: Node,
  rt: KernelRuntime,
): () => [number, number] {
  if (stringAttr(node.attrs, "rounding", "nearest") !== "stochastic") {
    return () => [0, 0];
  }
  const stream = intAttr(node.attrs, "stream", 0);
  const seed = rt.inputView(1);
  return () => prngKeys(streamSeed(stream, seed[0]));
}

/** The BFP rounding of a quantiser node in the kernels' spelling. */
export function roundingOf(node: Node): "sr" | "rne" {
  return stringAttr(node.attrs, "rounding", "nearest") === "stochastic"
    ? "sr"
    : "rne";
}

/** Bits the generated kernels exist for, or `undefined`. */
export function generatedBits(bits: number): 8 | 12 | 16 | undefined {
  return bits === 8 || bits === 12 || bits === 16 ? bits : undefined;
}
