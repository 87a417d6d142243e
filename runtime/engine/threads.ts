/**
 * Worker threads of an execution engine. The engine's memory is shared and
 * every GEMM call (f32 and int8, forward and backward) is split by row tiles
 * between the calling thread and the workers, which run the same compiled
 * GEMM modules on the same memory (`src/codegen/gemm/parallel.ts`); kernels
 * whose work falls into independent ranges (elementwise maps, row-wise
 * LayerNorm and softmax, AdamW, the packers) are split the same way through
 * {@linkcode EngineThreads.split}; the rest run on the calling thread.
 * Splitting changes no output bit: each element is computed by the same code
 * over the same order.
 *
 * The threads' control block and the workers' private edge tiles sit in a
 * region of the engine's persistent memory ({@linkcode threadRegionBytes}).
 *
 * @module
 */

import {
  canUseThreads,
  CONTROL_BYTES,
  type GemmExport,
  gemmLayout,
  type GemmParams,
  GemmThreadPool,
} from "../../src/codegen/gemm/mod.ts";
import {
  MAX_WORKERS,
  type WorkerFunction,
} from "../../src/codegen/gemm/thread_protocol.ts";
import { EngineError } from "./errors.ts";

/** Bytes of one worker's edge tile: room for any register tile (mr·nr f32). */
const WORKER_TILE_BYTES = 1024;

/**
 * Multiply-adds below which a GEMM call stays on the caller: waking a
 * worker and waiting for it costs tens of microseconds, more than half of
 * an attention head's 128×64×128 product saves.
 */
const MIN_SPLIT_MACS = 1 << 22;

/**
 * Bytes a split call must touch before it is shared: below that, waking a
 * worker costs more than its half of a memory-bound pass saves.
 */
const MIN_SPLIT_BYTES = 1 << 18;

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

/** How one call divides: its advancing pointers and the bytes per unit. */
export interface SplitPlan {
  /** [argument index, bytes per unit] of each pointer that advances. */
  readonly pointers: readonly (readonly [number, number])[];
  /** Bytes one unit reads and writes (small calls stay on the caller). */
  readonly bytesPerUnit: number;
}

/**
 * How a kernel export's call divides into independent ranges of units
 * (elements, rows, packing lines): `count` is the index of the argument
 * holding the number of units, `grain` the units every chunk bound is a
 * multiple of (a SIMD width or a packing tile, so each unit is computed by
 * the same code as in one whole call), and `plan` gives, for a call's
 * arguments, the pointers that advance per unit and by how much.
 */
export interface SplitSpec {
  /** Index of the unit-count argument. */
  readonly count: number;
  /** Chunk bounds fall on multiples of this many units. */
  readonly grain: number;
  /** The pointers and bytes per unit of a call with `args`. */
  plan(args: readonly number[]): SplitPlan;
}

/** Most threads an engine runs (the caller plus the pool's workers). */
export const MAX_THREADS: number = MAX_WORKERS + 1;

/**
 * Threads the engine will really use for `requested`: 1 where shared memory
 * or workers are missing (Node 20 has no global `Worker`; a browser page
 * without cross-origin isolation has no `SharedArrayBuffer`).
 */
export function usableThreads(requested: number): number {
  if (
    !Number.isInteger(requested) || requested < 1 || requested > MAX_THREADS
  ) {
    throw new EngineError(
      `threads must be an integer in [1, ${MAX_THREADS}], got ${requested}.`,
    );
  }
  return requested > 1 && canUseThreads() ? requested : 1;
}

/** Persistent bytes the thread region needs (0 for one thread). */
export function threadRegionBytes(threads: number): number {
  return threads > 1 ? CONTROL_BYTES + (threads - 1) * WORKER_TILE_BYTES : 0;
}

/** The GEMM and split-kernel functions of one engine and, once started, its worker threads. */
export class EngineThreads {
  readonly #functions: WorkerFunction[] = [];
  readonly #indices = new Map<WebAssembly.Module, Map<string, number>>();
  readonly #tiles: number[];
  #pool: GemmThreadPool | undefined;
  #splitGemm = 0;
  #splitKernel = 0;

  /** `region`: byte address of {@linkcode threadRegionBytes} zeroed bytes. */
  constructor(
    readonly memory: WebAssembly.Memory,
    readonly threads: number,
    readonly region: number,
  ) {
    this.#tiles = Array.from(
      { length: threads - 1 },
      (_, w) => region + CONTROL_BYTES + w * WORKER_TILE_BYTES,
    );
  }

  /**
   * `raw` (the `gemm` export of `module`, tile `params`) as a GEMM that,
   * once {@linkcode EngineThreads.start} has run, splits each call between
   * the threads; small calls (under {@linkcode MIN_SPLIT_MACS}, or fewer
   * than two row tiles per thread) stay on the caller.
   */
  wrap(
    module: WebAssembly.Module,
    raw: GemmExport,
    params: GemmParams,
  ): GemmExport {
    if (this.threads === 1) return raw;
    if (params.mr * params.nr * 4 > WORKER_TILE_BYTES) {
      throw new EngineError(
        `GEMM tile ${params.mr}×${params.nr} exceeds a worker's edge tile.`,
      );
    }
    const index = this.#register(module, "gemm");
    const rowStep = gemmLayout(params).aRowStepBytes;
    const mr = params.mr;
    const kStep = gemmLayout(params).kStep;
    const tiles = this.#tiles;
    return (a, b, c, m, n, ksteps, ldc, scale, bias, scratch, blockTiles) => {
      const pool = this.#pool;
      const mTiles = Math.ceil(m / mr);
      if (
        pool === undefined || mTiles < 2 * this.threads ||
        m * n * ksteps * kStep < MIN_SPLIT_MACS
      ) {
        return raw(
          a,
          b,
          c,
          m,
          n,
          ksteps,
          ldc,
          scale,
          bias,
          scratch,
          blockTiles,
        );
      }
      this.#splitGemm++;
      pool.run(
        {
          module: index,
          a,
          b,
          c,
          bias,
          m,
          n,
          ksteps,
          ldc,
          scale,
          blockTiles,
          mr,
          aTileBytes: ksteps * mr * rowStep,
          mTiles,
        },
        raw,
        [scratch, ...tiles],
      );
    };
  }

  /**
   * `fn` (export `name` of `module`) as a function that, once
   * {@linkcode EngineThreads.start} has run, splits each call by `spec`
   * between the threads and returns the OR of the parts' nonzero i32
   * results; calls touching fewer than {@linkcode MIN_SPLIT_BYTES} bytes,
   * or under two grains per thread, run whole on the caller.
   */
  split(
    module: WebAssembly.Module,
    name: string,
    fn: Fn,
    spec: SplitSpec,
  ): Fn {
    if (this.threads === 1) return fn;
    const index = this.#register(module, name);
    return (...args: number[]) => {
      const pool = this.#pool;
      const units = args[spec.count];
      if (pool === undefined || units < 2 * this.threads * spec.grain) {
        return fn(...args);
      }
      const { pointers, bytesPerUnit } = spec.plan(args);
      if (units * bytesPerUnit < MIN_SPLIT_BYTES) return fn(...args);
      this.#splitKernel++;
      return pool.call(
        { fn: index, args, count: spec.count, grain: spec.grain, pointers },
        fn,
      );
    };
  }

  /** GEMM calls shared between the threads so far. */
  get splitGemmCalls(): number {
    return this.#splitGemm;
  }

  /** Split calls of other kernels shared between the threads so far. */
  get splitKernelCalls(): number {
    return this.#splitKernel;
  }

  /** Index of export `name` of `module` among the workers' functions. */
  #register(module: WebAssembly.Module, name: string): number {
    let names = this.#indices.get(module);
    if (names === undefined) {
      names = new Map();
      this.#indices.set(module, names);
    }
    let index = names.get(name);
    if (index === undefined) {
      index = this.#functions.length;
      this.#functions.push({ module, name });
      names.set(name, index);
    }
    return index;
  }

  /** Starts the workers on every function wrapped so far. */
  async start(): Promise<void> {
    if (this.threads === 1 || this.#pool !== undefined) return;
    this.#pool = await GemmThreadPool.start(
      this.memory,
      this.#functions,
      this.region,
      this.threads - 1,
    );
  }

  /** Stops the workers; GEMM calls then run on the caller alone. */
  close(): void {
    this.#pool?.close();
    this.#pool = undefined;
  }
}
