/**
 * Emission helpers shared by the f32 kernel families: one module per kernel
 * over an imported memory, counted loops, the 4-lane loop with a one-lane
 * tail, v128 constants and lane reductions.
 *
 * Tails run the very same vector code as the body, on a vector whose lanes
 * all hold the tail element (`v128.load32_splat`), and keep lane 0. So a
 * transcendental approximation gives bit-identical results wherever an
 * element sits in a row, and there is no second, scalar copy of each formula
 * to keep in sync.
 * @module
 */

import {
  type FunctionEmitter,
  listFunction,
  type Local,
  ModuleBuilder,
  type ValType,
} from "../wasm/mod.ts";
import { instantiateKernel, type KernelFn } from "./loader.ts";

/** Maximum size, in 64 KiB pages, that the imported `env.memory` may declare. */
export const F32_MEMORY_MAX_PAGES = 65536;

/** Options every f32 generator takes. */
export interface GenerateOptions {
  /** Import a shared memory (for worker threads); must match the memory given at load. */
  readonly shared?: boolean;
}

/** A generated kernel: one module exporting one function named like the kernel. */
export interface F32Module<F extends KernelFn> {
  /** Kernel name; encodes the variant, e.g. `layer_norm_fwd_h768`. */
  readonly name: string;
  /** Module binary; imports `env.memory`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Whether the imported memory is declared shared. */
  readonly shared: boolean;
  /** WAT-like listing of the kernel function. */
  listing(): string;
  /** Compiles and instantiates the module over `memory`, returning the kernel. */
  instantiate(memory: WebAssembly.Memory): Promise<F>;
}

/** Builds the one-function module of a kernel. */
export function buildKernel<F extends KernelFn>(
  name: string,
  params: readonly (readonly [string, ValType])[],
  results: readonly ValType[],
  options: GenerateOptions,
  build: (f: FunctionEmitter) => void,
): F32Module<F> {
  const shared = options.shared ?? false;
  const mb = new ModuleBuilder();
  mb.importMemory("env", "memory", {
    initial: 1,
    maximum: F32_MEMORY_MAX_PAGES,
    shared,
  });
  const fn = mb.addFunction(name, params, results, build);
  mb.exportFunction(name, fn);
  const bytes = mb.encode();
  return {
    name,
    bytes,
    shared,
    listing: () => listFunction(mb.emitterOf(fn)),
    instantiate: (memory) => instantiateKernel<F>(bytes, name, memory),
  };
}

/** A fresh local with a unique name derived from `hint`. */
export function temp(f: FunctionEmitter, type: ValType, hint: string): Local {
  return f.local(type, `${hint}${f.locals.length}`);
}

/** Pushes an i32 local or constant. */
function pushI32(f: FunctionEmitter, v: Local | number): void {
  if (typeof v === "number") f.emit("i32.const", v);
  else f.emit("local.get", v);
}

/** Pushes a v128 with `x` (rounded to f32) in every lane. */
export function f32x4Const(f: FunctionEmitter, x: number): void {
  const lanes = Float32Array.of(x, x, x, x);
  f.emit("v128.const", new Uint8Array(lanes.buffer));
}

/** Pushes a v128 with the i32 `x` in every lane. */
export function i32x4Const(f: FunctionEmitter, x: number): void {
  const lanes = Int32Array.of(x, x, x, x);
  f.emit("v128.const", new Uint8Array(lanes.buffer));
}

/** Emits `for (i = 0; i < end; i += step) body()` (unsigned compare). */
export function countedLoop(
  f: FunctionEmitter,
  i: Local,
  end: Local | number,
  step: number,
  body: () => void,
): void {
  f.emit("i32.const", 0).emit("local.set", i);
  f.block((exit) => {
    f.loop((next) => {
      f.emit("local.get", i);
      pushI32(f, end);
      f.emit("i32.ge_u").emit("br_if", exit);
      body();
      f.emit("local.get", i).emit("i32.const", step).emit("i32.add")
        .emit("local.set", i).emit("br", next);
    });
  });
}

/** Elements one iteration of a lane loop handles: the vector body or the tail. */
export type Lanes = 4 | 1;

/**
 * Emits a loop over byte offsets `off` in [0, bytes): 16-byte steps while a
 * whole vector fits, then 4-byte steps for the tail. `body` is emitted once
 * per lane count and must only use lane 0 of its results when `lanes` is 1.
 */
export function laneLoop(
  f: FunctionEmitter,
  off: Local,
  bytes: Local | number,
  body: (lanes: Lanes) => void,
): void {
  f.emit("i32.const", 0).emit("local.set", off);
  for (const lanes of [4, 1] as const) {
    f.block((exit) => {
      f.loop((next) => {
        f.emit("local.get", off).emit("i32.const", 4 * lanes).emit("i32.add");
        pushI32(f, bytes);
        f.emit("i32.gt_u").emit("br_if", exit);
        body(lanes);
        f.emit("local.get", off).emit("i32.const", 4 * lanes).emit("i32.add")
          .emit("local.set", off).emit("br", next);
      });
    });
  }
}

/** Pushes the 4 elements at `base + off`, or the one element splatted for a tail. */
export function load(
  f: FunctionEmitter,
  lanes: Lanes,
  base: Local,
  off: Local,
): void {
  f.emit("local.get", base).emit("local.get", off).emit("i32.add");
  if (lanes === 4) f.emit("v128.load", { align: 2 });
  else f.emit("v128.load32_splat");
}

/** Stores the vector `value` pushes to `base + off` (lane 0 only for a tail). */
export function store(
  f: FunctionEmitter,
  lanes: Lanes,
  base: Local,
  off: Local,
  value: () => void,
): void {
  f.emit("local.get", base).emit("local.get", off).emit("i32.add");
  value();
  if (lanes === 4) f.emit("v128.store", { align: 2 });
  else f.emit("f32x4.extract_lane", 0).emit("f32.store");
}

/**
 * A sum or max over a lane loop: a v128 accumulator for whole vectors and a
 * scalar one for tail elements, combined by {@link LaneReducer.result}.
 */
export class LaneReducer {
  readonly #f: FunctionEmitter;
  readonly #kind: "sum" | "max";
  readonly #vec: Local;
  readonly #scalar: Local;

  /** Declares the accumulators in `f`. */
  constructor(f: FunctionEmitter, kind: "sum" | "max") {
    this.#f = f;
    this.#kind = kind;
    this.#vec = temp(f, "v128", `${kind}V`);
    this.#scalar = temp(f, "f32", `${kind}S`);
  }

  /** Sets both accumulators to the identity (0, or −∞ for max). */
  reset(): void {
    const init = this.#kind === "sum" ? 0 : -Infinity;
    f32x4Const(this.#f, init);
    this.#f.emit("local.set", this.#vec).emit("f32.const", init)
      .emit("local.set", this.#scalar);
  }

  /** Folds in the vector `value` pushes (only its lane 0 for a tail). */
  add(lanes: Lanes, value: () => void): void {
    const f = this.#f;
    if (lanes === 4) {
      f.emit("local.get", this.#vec);
      value();
      f.emit(this.#kind === "sum" ? "f32x4.add" : "f32x4.max")
        .emit("local.set", this.#vec);
    } else {
      f.emit("local.get", this.#scalar);
      value();
      f.emit("f32x4.extract_lane", 0)
        .emit(this.#kind === "sum" ? "f32.add" : "f32.max")
        .emit("local.set", this.#scalar);
    }
  }

  /** Pushes the f32 total: the four lanes pairwise, then the tail. */
  result(): void {
    const f = this.#f;
    const op = this.#kind === "sum" ? "f32.add" : "f32.max";
    for (const pair of [[0, 1], [2, 3]]) {
      f.emit("local.get", this.#vec).emit("f32x4.extract_lane", pair[0])
        .emit("local.get", this.#vec).emit("f32x4.extract_lane", pair[1])
        .emit(op);
    }
    f.emit(op).emit("local.get", this.#scalar).emit(op);
  }
}

/** Pushes `Σ coeffs[k]·u^k` (Horner, f32x4) for the v128 local `u`. */
export function horner(
  f: FunctionEmitter,
  u: Local,
  coeffs: readonly number[],
): void {
  f32x4Const(f, coeffs[coeffs.length - 1]);
  for (let k = coeffs.length - 2; k >= 0; k--) {
    f.emit("local.get", u).emit("f32x4.mul");
    f32x4Const(f, coeffs[k]);
    f.emit("f32x4.add");
  }
}

/**
 * The `i8x16.shuffle` immediate taking 32-bit lanes `picked` (0–3 of the
 * first operand, 4–7 of the second), e.g. `lanes(2, 3, 2, 3)` for the high
 * half of a vector, `lanes(0, 1, 4, 5)` to join two low halves.
 */
export function lanes(...picked: number[]): number[] {
  return picked.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
}
