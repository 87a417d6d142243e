/**
 * Assembles one BFP module per parameter set: the max-abs, map and unmap
 * kernels, exported under their variant names, on an imported `env.memory`
 * (so they can share the runtime arena with the GEMM kernels).
 * @module
 */

import { listFunction, ModuleBuilder, type ValType } from "../wasm/mod.ts";
import type { Prologue } from "./emit.ts";
import { emitMap, MAP_SIGNATURE } from "./map.ts";
import { emitMaxAbs, MAXABS_SIGNATURE } from "./maxabs.ts";
import {
  bfpMapName,
  bfpMaxAbsName,
  type BfpParams,
  bfpUnmapName,
  checkBfpParams,
} from "./params.ts";
import { emitUnmap, UNMAP_SIGNATURE } from "./unmap.ts";

/** Names of the three kernels of a module. */
export interface BfpKernelNames {
  /** Max-abs per group, e.g. `bfp_maxabs_row`. */
  readonly maxAbs: string;
  /** Map, e.g. `bfp_map_b8_sr_row`. */
  readonly map: string;
  /** Dequantise, e.g. `bfp_unmap_b8_row`. */
  readonly unmap: string;
}

/** A generated BFP module. */
export interface BfpModule {
  /** Parameters it was generated from. */
  readonly params: BfpParams;
  /** Export names of its kernels. */
  readonly names: BfpKernelNames;
  /** Module binary; imports `env.memory`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** WAT-like listing of the kernel exported as `name`. */
  listing(name: string): string;
}

/** Memory limits the module declares for its imported `env.memory`. */
export const BFP_MEMORY_MAX_PAGES = 65536;

/** Options of {@link generateBfp}. */
export interface BfpGenerateOptions {
  /** Import a shared memory (for worker threads). */
  shared?: boolean;
  /** Transform applied to x before max-abs and map; prefixes the names. */
  prologue?: Prologue;
}

/** Generates the max-abs, map and unmap kernels for `params`. */
export function generateBfp(
  params: BfpParams,
  options: BfpGenerateOptions = {},
): BfpModule {
  checkBfpParams(params);
  const { prologue } = options;
  const prefix = prologue ? `${prologue.name}_` : "";
  const names: BfpKernelNames = {
    maxAbs: prefix + bfpMaxAbsName(params.granularity),
    map: prefix + bfpMapName(params),
    unmap: bfpUnmapName(params),
  };
  const mb = new ModuleBuilder();
  mb.importMemory("env", "memory", {
    initial: 1,
    maximum: BFP_MEMORY_MAX_PAGES,
    shared: options.shared ?? false,
  });
  const refs = new Map([
    [
      names.maxAbs,
      mb.addFunction(
        names.maxAbs,
        MAXABS_SIGNATURE as unknown as [string, ValType][],
        [],
        (f) => emitMaxAbs(f, params.granularity, prologue),
      ),
    ],
    [
      names.map,
      mb.addFunction(
        names.map,
        MAP_SIGNATURE as unknown as [string, ValType][],
        [],
        (f) => emitMap(f, params, prologue),
      ),
    ],
    [
      names.unmap,
      mb.addFunction(
        names.unmap,
        UNMAP_SIGNATURE as unknown as [string, ValType][],
        [],
        (f) => emitUnmap(f, params),
      ),
    ],
  ]);
  for (const [name, ref] of refs) mb.exportFunction(name, ref);
  const bytes = mb.encode();
  return {
    params,
    names,
    bytes,
    listing: (name) => {
      const ref = refs.get(name);
      if (!ref) throw new Error(`Module has no kernel named ${name}.`);
      return listFunction(mb.emitterOf(ref));
    },
  };
}
