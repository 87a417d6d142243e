/**
 * The engine's generated one-function kernel modules: each generated once
 * per process and instantiated on an engine's memory, whole
 * ({@linkcode load}) or split between the engine's threads by ranges of
 * independent units ({@linkcode loadSplit}, with the split shapes of
 * elementwise and row-wise kernels).
 *
 * @module
 */

import type {
  F32Module,
  GenerateOptions,
  KernelFn,
} from "../../../src/codegen/f32/mod.ts";
import type { KernelRuntime, SplitSpec } from "./types.ts";

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

const memo = new Map<string, F32Module<KernelFn>>();

/**
 * The kernel function of a generated one-function module, instantiated on
 * the engine memory; each module is generated once per process (`key` names
 * the variant, the memory's sharing is added to it).
 */
export async function load(
  rt: KernelRuntime,
  key: string,
  generate: (options: GenerateOptions) => F32Module<KernelFn>,
): Promise<Fn> {
  const module = generated(rt, key, generate);
  const exports = await rt.instantiate(module);
  return exports[module.name] as Fn;
}

/** Like {@linkcode load}, the function split between the threads by `spec`. */
export function loadSplit(
  rt: KernelRuntime,
  key: string,
  generate: (options: GenerateOptions) => F32Module<KernelFn>,
  spec: SplitSpec,
): Promise<Fn> {
  const module = generated(rt, key, generate);
  return rt.split(module, module.name, spec);
}

function generated(
  rt: KernelRuntime,
  key: string,
  generate: (options: GenerateOptions) => F32Module<KernelFn>,
): F32Module<KernelFn> {
  const variant = `${key}${rt.shared ? "/shared" : ""}`;
  let module = memo.get(variant);
  if (module === undefined) {
    module = generate({ shared: rt.shared });
    memo.set(variant, module);
  }
  return module;
}

/**
 * An elementwise kernel's split: `count` the element-count argument, each
 * of `pointers` an f32 array argument; chunks of whole 16-element groups,
 * so the SIMD body and the scalar tail see the same elements as one call.
 */
export function elementwiseSplit(
  count: number,
  pointers: number[],
): SplitSpec {
  const plan = {
    pointers: pointers.map((p) => [p, 4] as const),
    bytesPerUnit: 4 * pointers.length,
  };
  return { count, grain: 16, plan: () => plan };
}

/** A row-wise kernel's split: [argument, bytes per row] of its pointers. */
export function rowwiseSplit(
  count: number,
  pointers: readonly (readonly [number, number])[],
): SplitSpec {
  const plan = {
    pointers,
    bytesPerUnit: pointers.reduce((sum, [, bytes]) => sum + bytes, 0),
  };
  return { count, grain: 1, plan: () => plan };
}
