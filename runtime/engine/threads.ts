/**
 * Worker threads of an execution engine. The engine's memory is shared and
 * every GEMM call (f32 and int8, forward and backward) is split by row tiles
 * between the calling thread and the workers, which run the same compiled
 * GEMM modules on the same memory (`src/codegen/gemm/parallel.ts`); every
 * other kernel runs on the calling thread. Splitting rows changes no
 * output bit: each element is computed by the same code over the same k
 * order.
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
import { MAX_WORKERS } from "../../src/codegen/gemm/thread_protocol.ts";
import { EngineError } from "./errors.ts";

/** Bytes of one worker's edge tile: room for any register tile (mr·nr f32). */
const WORKER_TILE_BYTES = 1024;

/**
 * Multiply-adds below which a GEMM call stays on the caller: waking a
 * worker and waiting for it costs tens of microseconds, more than half of
 * an attention head's 128×64×128 product saves.
 */
const MIN_SPLIT_MACS = 1 << 22;

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

/** The GEMM modules of one engine and, once started, its worker threads. */
export class EngineThreads {
  readonly #modules = new Map<WebAssembly.Module, number>();
  readonly #tiles: number[];
  #pool: GemmThreadPool | undefined;
  #split = 0;

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
    let index = this.#modules.get(module);
    if (index === undefined) {
      index = this.#modules.size;
      this.#modules.set(module, index);
    }
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
      this.#split++;
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

  /** GEMM calls split between the threads so far. */
  get splitCalls(): number {
    return this.#split;
  }

  /** Starts the workers on every module wrapped so far. */
  async start(): Promise<void> {
    if (this.threads === 1 || this.#pool !== undefined) return;
    this.#pool = await GemmThreadPool.start(
      this.memory,
      [...this.#modules.keys()],
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
