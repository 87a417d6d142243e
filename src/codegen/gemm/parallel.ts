/**
 * Multi-threaded GEMM over one shared WebAssembly memory: the main thread and
 * module workers claim chunks of C's row tiles from a shared counter. With one
 * thread (or where shared memory or workers are unavailable) it is exactly
 * {@link GemmKernel}; results are bit-identical either way because every
 * output element is computed by the same code over the same k order.
 * @module
 */

import { GemmKernel, type GemmPlan } from "./kernel.ts";
import type { MatrixView } from "./matrix.ts";
import { gemmLayout, type GemmParams } from "./params.ts";
import {
  doneWord,
  failedWord,
  MAX_WORKERS,
  QUIT,
  runChunks,
  scratchWord,
  SEQ,
  type WorkerInit,
  writeJob,
} from "./thread_protocol.ts";

/** Chunks of row tiles per thread and call. */
const CHUNKS_PER_THREAD = 8;

/** Whether this engine can share WASM memory with module workers. */
export function canUseThreads(): boolean {
  return typeof SharedArrayBuffer === "function" &&
    typeof Worker === "function";
}

/** A GEMM kernel plus worker threads sharing its memory. */
export class ParallelGemm {
  readonly #workers: Worker[];
  #seq = 0;

  private constructor(readonly kernel: GemmKernel, workers: Worker[]) {
    this.#workers = workers;
  }

  /** Control words; a fresh view each time, since growing memory replaces the buffer. */
  get #control(): Int32Array {
    return new Int32Array(this.kernel.memory.buffer, 0, 64);
  }

  /** Starts `threads − 1` workers (none when threads are unavailable). */
  static async create(params: GemmParams, threads = 2): Promise<ParallelGemm> {
    if (
      !Number.isInteger(threads) || threads < 1 || threads > MAX_WORKERS + 1
    ) {
      throw new RangeError(
        `threads must be an integer in [1, ${
          MAX_WORKERS + 1
        }], got ${threads}.`,
      );
    }
    const shared = threads > 1 && canUseThreads();
    const kernel = await GemmKernel.create(params, { shared });
    const workers: Worker[] = [];
    if (shared) {
      try {
        for (let w = 0; w < threads - 1; w++) {
          workers.push(await startWorker(kernel, w));
        }
      } catch (error) {
        for (const worker of workers) worker.terminate();
        throw error;
      }
    }
    return new ParallelGemm(kernel, workers);
  }

  /** Threads computing each GEMM, the calling thread included. */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /** Plans buffers with one scratch tile per thread. */
  plan(
    m: number,
    k: number,
    n: number,
    options: { ldc?: number; bias?: boolean } = {},
  ): GemmPlan {
    return this.kernel.plan(m, k, n, { ...options, threads: this.threads });
  }

  /**
   * Computes all of C. The threads claim chunks of row tiles from a shared
   * counter rather than fixed halves: on a box where another process holds a
   * core, a static split waits for the slowed half (≤ 1.0×), while claiming
   * lets the unhindered thread take more chunks.
   */
  compute(plan: GemmPlan, scale = 1): void {
    if (this.#workers.length === 0) return this.kernel.compute(plan, scale);
    const control = this.#control;
    const p = this.kernel.params;
    const job = {
      a: plan.aPtr,
      b: plan.bPtr,
      c: plan.cPtr,
      bias: plan.biasPtr,
      m: plan.m,
      n: plan.n,
      ksteps: plan.ksteps,
      ldc: plan.ldc,
      scale,
      blockTiles: plan.blockTiles,
      mr: p.mr,
      aTileBytes: plan.ksteps * p.mr * gemmLayout(p).aRowStepBytes,
      // ~CHUNKS_PER_THREAD chunks each: enough to rebalance, few enough calls.
      chunkTiles: Math.max(
        1,
        Math.ceil(plan.mTiles / (this.threads * CHUNKS_PER_THREAD)),
      ),
      mTiles: plan.mTiles,
    };
    writeJob(control, job);
    this.#workers.forEach((_, w) => {
      control[scratchWord(w)] = plan.scratchPtrs[w + 1];
    });
    const seq = ++this.#seq;
    Atomics.store(control, SEQ, seq);
    Atomics.notify(control, SEQ);
    runChunks(control, job, this.kernel.gemm, plan.scratchPtrs[0]);
    // Every worker acknowledges every job, even one that found no chunk left,
    // so none can still be reading this job when the next overwrites it.
    this.#workers.forEach((_, w) => {
      for (;;) {
        const done = Atomics.load(control, doneWord(w));
        if (done === seq) break;
        Atomics.wait(control, doneWord(w), done);
      }
      if (Atomics.load(control, failedWord(w)) === seq) {
        throw new Error(
          `GEMM worker ${w} threw on its share; its message says why.`,
        );
      }
    });
  }

  /** Plans, packs, computes (threaded) and reads back C. */
  matmul(
    a: MatrixView,
    b: MatrixView,
    options: { scale?: number; bias?: Float32Array; ldc?: number } = {},
  ): Float32Array | Int32Array {
    const plan = this.plan(a.rows, a.cols, b.cols, {
      ldc: options.ldc,
      bias: options.bias !== undefined,
    });
    this.kernel.packA(plan, a);
    this.kernel.packB(plan, b);
    if (options.bias) this.kernel.setBias(plan, options.bias);
    this.compute(plan, options.scale ?? 1);
    return this.kernel.readOutput(plan);
  }

  /** Stops the workers; the instance must not be used afterwards. */
  close(): void {
    if (this.#workers.length === 0) return;
    const control = this.#control;
    Atomics.store(control, QUIT, 1);
    Atomics.notify(control, SEQ);
    for (const worker of this.#workers) worker.terminate();
    this.#workers.length = 0;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function startWorker(kernel: GemmKernel, worker: number): Promise<Worker> {
  const w = new Worker(new URL("./gemm_worker.ts", import.meta.url).href, {
    type: "module",
  });
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      if (e.data === "ready") resolve(w);
      else console.error(e.data);
    };
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      reject(new Error(`GEMM worker ${worker} failed to start: ${e.message}`));
    };
    const init: WorkerInit = {
      module: kernel.compiled,
      memory: kernel.memory,
      worker,
    };
    w.postMessage(init);
  });
}
