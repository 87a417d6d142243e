/**
 * Multi-threaded GEMM over one shared WebAssembly memory: the main thread and
 * module workers claim chunks of C's row tiles from a shared counter. With one
 * thread (or where shared memory or workers are unavailable) it is exactly
 * {@link GemmKernel}; results are bit-identical either way because every
 * output element is computed by the same code over the same k order.
 * @module
 */

import { type GemmExport, GemmKernel, type GemmPlan } from "./kernel.ts";
import type { MatrixView } from "./matrix.ts";
import { gemmLayout, type GemmParams } from "./params.ts";
import {
  callChunk,
  type CallJob,
  callResult,
  controlBlock,
  doneWord,
  EXITED,
  failedWord,
  type JobWords,
  MAX_WORKERS,
  QUIT,
  runCallChunks,
  runChunks,
  scratchWord,
  SEQ,
  spinWhile,
  type WorkerFunction,
  type WorkerInit,
  writeCallJob,
  writeJob,
} from "./thread_protocol.ts";

/** Chunks of row tiles per thread and call. */
const CHUNKS_PER_THREAD = 8;

/**
 * The runtime's own `Worker`, taken when this module loads: onnxruntime-web,
 * once it has run a session, replaces the global with a Node
 * `worker_threads` shim under Deno, which cannot start these workers.
 */
const NativeWorker: typeof Worker | undefined = globalThis.Worker;

/** Whether this engine can share WASM memory with module workers. */
export function canUseThreads(): boolean {
  return typeof SharedArrayBuffer === "function" &&
    typeof NativeWorker === "function";
}

/**
 * Worker threads sharing one memory and a list of kernel functions: each
 * {@link GemmThreadPool.run} splits one GEMM call by row-tile chunks, each
 * {@link GemmThreadPool.call} one split call by ranges of units, between
 * the calling thread and the workers. Used by {@link ParallelGemm} and by
 * the execution engine (many functions, control block inside its memory).
 */
export class GemmThreadPool {
  readonly #workers: Worker[];
  #seq = 0;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly control: number,
    workers: Worker[],
  ) {
    this.#workers = workers;
  }

  /**
   * Starts `workers` module workers over shared `memory`, each instantiating
   * the modules of `functions` (jobs name a function by its index); the
   * control block lives at byte `control` (`CONTROL_BYTES` long, zeroed).
   */
  static async start(
    memory: WebAssembly.Memory,
    functions: readonly WorkerFunction[],
    control: number,
    workers: number,
  ): Promise<GemmThreadPool> {
    const started: Worker[] = [];
    try {
      for (let w = 0; w < workers; w++) {
        started.push(
          await startWorker({ functions, memory, control, worker: w }),
        );
      }
    } catch (error) {
      for (const worker of started) worker.terminate();
      throw error;
    }
    return new GemmThreadPool(memory, control, started);
  }

  /** Threads computing each GEMM, the calling thread included. */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /**
   * Computes `job` with `gemm` (module `job.module`'s export) on this thread
   * and every worker; `scratch[t]` is thread t's private edge tile (t = 0 is
   * the caller). The threads claim chunks of row tiles from a shared counter
   * rather than fixed halves: on a box where another process holds a core,
   * a static split waits for the slowed half (≤ 1.0×), while claiming lets
   * the unhindered thread take more chunks.
   */
  run(
    job: Omit<JobWords, "chunkTiles">,
    gemm: GemmExport,
    scratch: readonly number[],
  ): void {
    const control = controlBlock(this.memory, this.control);
    // ~CHUNKS_PER_THREAD chunks each: enough to rebalance, few enough calls.
    const chunkTiles = Math.max(
      1,
      Math.ceil(job.mTiles / (this.threads * CHUNKS_PER_THREAD)),
    );
    const whole = { ...job, chunkTiles };
    writeJob(control, whole);
    this.#workers.forEach((_, w) => {
      control[scratchWord(w)] = scratch[w + 1];
    });
    this.#post(control, () => runChunks(control, whole, gemm, scratch[0]));
  }

  /**
   * Computes split call `job` with `fn` (function `job.fn`) on this thread
   * and every worker, in chunks of whole multiples of `job.grain` units;
   * returns the OR of the chunks' nonzero i32 results (0 when none).
   */
  // deno-lint-ignore no-explicit-any
  call(job: CallJob, fn: (...args: any[]) => unknown): number {
    const control = controlBlock(this.memory, this.control);
    const total = job.args[job.count];
    writeCallJob(control, job, callChunk(total, job.grain, this.threads));
    this.#post(control, () => runCallChunks(control, fn));
    return callResult(control);
  }

  /** Posts the job written in `control`, runs `own` here, waits for all. */
  #post(control: Int32Array, own: () => void): void {
    const seq = ++this.#seq;
    Atomics.store(control, SEQ, seq);
    Atomics.notify(control, SEQ);
    try {
      own();
    } finally {
      this.#await(control, seq);
    }
  }

  /**
   * Waits until every worker acknowledged job `seq` — even one that found
   * no chunk left, or a job whose caller's share threw — so none can still
   * be reading it when the next overwrites it.
   */
  #await(control: Int32Array, seq: number): void {
    this.#workers.forEach((_, w) => {
      for (;;) {
        const done = Atomics.load(control, doneWord(w));
        if (done === seq) break;
        spinWhile(control, doneWord(w), done);
        Atomics.wait(control, doneWord(w), done);
      }
      if (Atomics.load(control, failedWord(w)) === seq) {
        throw new Error(
          `Kernel worker ${w} threw on its share; its message says why.`,
        );
      }
    });
  }

  /**
   * Stops the workers; the pool must not be used afterwards. Each worker is
   * asked to quit and given up to a second to say it has ({@link EXITED} in
   * its done word) before it is terminated.
   */
  close(): void {
    if (this.#workers.length === 0) return;
    const control = controlBlock(this.memory, this.control);
    Atomics.store(control, QUIT, 1);
    // Moving SEQ too wakes a worker that is spinning rather than waiting
    // (a notify alone would be lost on it, and `terminate` does not end a
    // thread parked in Atomics.wait: the process would not exit).
    Atomics.add(control, SEQ, 1);
    Atomics.notify(control, SEQ);
    const deadline = performance.now() + 1000;
    this.#workers.forEach((_, w) => {
      for (;;) {
        const done = Atomics.load(control, doneWord(w));
        const left = deadline - performance.now();
        if (done === EXITED || left <= 0) break;
        Atomics.wait(control, doneWord(w), done, left);
      }
    });
    for (const worker of this.#workers) worker.terminate();
    this.#workers.length = 0;
  }
}

/** A GEMM kernel plus worker threads sharing its memory. */
export class ParallelGemm {
  private constructor(
    readonly kernel: GemmKernel,
    readonly pool: GemmThreadPool | undefined,
  ) {}

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
    const pool = shared
      ? await GemmThreadPool.start(
        kernel.memory,
        [{ module: kernel.compiled, name: "gemm" }],
        0,
        threads - 1,
      )
      : undefined;
    return new ParallelGemm(kernel, pool);
  }

  /** Threads computing each GEMM, the calling thread included. */
  get threads(): number {
    return this.pool?.threads ?? 1;
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

  /** Computes all of C, split between the threads. */
  compute(plan: GemmPlan, scale = 1): void {
    if (this.pool === undefined) return this.kernel.compute(plan, scale);
    const p = this.kernel.params;
    this.pool.run(
      {
        module: 0,
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
        mTiles: plan.mTiles,
      },
      this.kernel.gemm,
      plan.scratchPtrs,
    );
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
    this.pool?.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function startWorker(init: WorkerInit): Promise<Worker> {
  const w = new NativeWorker!(
    new URL("./gemm_worker.ts", import.meta.url).href,
    {
      type: "module",
    },
  );
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      if (e.data === "ready") resolve(w);
      else console.error(e.data);
    };
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      reject(
        new Error(`GEMM worker ${init.worker} failed to start: ${e.message}`),
      );
    };
    w.postMessage(init);
  });
}
