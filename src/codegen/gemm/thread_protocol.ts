/**
 * The shared-memory protocol between the main thread and GEMM workers: a block
 * of i32 words (`CONTROL_BYTES`) in the shared WASM memory — at address 0 of
 * a {@link ParallelGemm}'s own memory, inside the execution engine's
 * persistent region for its threads. Workers hold a list of functions (the
 * `gemm` exports of GEMM modules, and any other kernel export whose work
 * splits into independent ranges: elementwise maps, row-wise kernels,
 * packers); the main thread writes one job — its kind, which function, the
 * whole call's arguments — resets the chunk counter `NEXT`, bumps `SEQ` and
 * notifies. Every thread, the main one included, then claims chunks (row
 * tiles of a GEMM, ranges of a split call) with `Atomics.add(NEXT)` until
 * none are left ({@link runChunks}, {@link runCallChunks}), so a thread
 * slowed by another process simply takes fewer chunks. A worker then stores
 * the sequence number in its `done` word (and in its `failed` word too if a
 * chunk threw) and notifies back. Atomics, not postMessage, so a call costs
 * microseconds.
 * @module
 */

import type { GemmExport } from "./kernel.ts";

/** Word index of the job sequence number. */
export const SEQ = 0;
/** Word index of the quit flag. */
export const QUIT = 1;
/** Word index of the next unclaimed chunk. */
export const NEXT = 2;
/** Word index of the job's kind: {@link GEMM_JOB} or {@link CALL_JOB}. */
export const KIND = 3;
/** A GEMM job ({@link JobWords}). */
export const GEMM_JOB = 0;
/** A split call ({@link CallJob}). */
export const CALL_JOB = 1;
/** Word index where the job's words begin (see {@link JobWords}). */
export const JOB = 4;
/** Workers the control block has room for. */
export const MAX_WORKERS = 3;
/** Word index of worker w's (0-based) scratch tile address. */
export const scratchWord = (w: number): number => 24 + 4 * w;
/** Word index of worker w's completion word (the last sequence number done). */
export const doneWord = (w: number): number => scratchWord(w) + 1;
/** What a worker stores in its completion word as it quits. */
export const EXITED = -1;
/** Word index of worker w's failure word (the last sequence number that threw). */
export const failedWord = (w: number): number => scratchWord(w) + 2;

/** A GEMM job as the threads see it: whole-problem arguments plus chunking. */
export interface JobWords {
  /** Index of the GEMM function (in {@link WorkerInit.functions}) that runs it. */
  readonly module: number;
  /** Packed A, packed B, C, bias (0 for none): byte addresses. */
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly bias: number;
  /** Rows and columns of C, k-steps, C row stride in elements. */
  readonly m: number;
  readonly n: number;
  readonly ksteps: number;
  readonly ldc: number;
  /** Output scale (stored as f32 bits). */
  readonly scale: number;
  /** Row tiles per cache block. */
  readonly blockTiles: number;
  /** Rows per tile, bytes of packed A per tile, row tiles per chunk, all tiles. */
  readonly mr: number;
  readonly aTileBytes: number;
  readonly chunkTiles: number;
  readonly mTiles: number;
}

const FIELDS = [
  "module",
  "a",
  "b",
  "c",
  "bias",
  "m",
  "n",
  "ksteps",
  "ldc",
  "scale",
  "blockTiles",
  "mr",
  "aTileBytes",
  "chunkTiles",
  "mTiles",
] as const;
const SCALE = JOB + FIELDS.indexOf("scale");

/** Writes `job` into the control block and resets the chunk counter. */
export function writeJob(control: Int32Array, job: JobWords): void {
  control[KIND] = GEMM_JOB;
  FIELDS.forEach((name, i) => (control[JOB + i] = job[name]));
  new Float32Array(control.buffer, control.byteOffset)[SCALE] = job.scale;
  Atomics.store(control, NEXT, 0);
}

/** Reads the job the control block holds. */
export function readJob(control: Int32Array): JobWords {
  const job = Object.fromEntries(
    FIELDS.map((name, i) => [name, control[JOB + i]]),
  ) as Record<(typeof FIELDS)[number], number>;
  job.scale = new Float32Array(control.buffer, control.byteOffset)[SCALE];
  return job;
}

/** Claims and computes chunks of `job` until none are left. */
export function runChunks(
  control: Int32Array,
  job: JobWords,
  gemm: GemmExport,
  scratch: number,
): void {
  for (;;) {
    const t0 = Atomics.add(control, NEXT, 1) * job.chunkTiles;
    if (t0 >= job.mTiles) return;
    const t1 = Math.min(t0 + job.chunkTiles, job.mTiles);
    const rows = Math.min(job.m - t0 * job.mr, (t1 - t0) * job.mr);
    gemm(
      job.a + t0 * job.aTileBytes,
      job.b,
      job.c + t0 * job.mr * job.ldc * 4,
      rows,
      job.n,
      job.ksteps,
      job.ldc,
      job.scale,
      job.bias,
      scratch,
      job.blockTiles,
    );
  }
}

/** Most arguments of a split call, and most of them that are split pointers. */
export const MAX_CALL_ARGS = 20;
const MAX_POINTERS = 8;
/** Word layout of a split call, after the workers' words. */
const CALL = {
  fn: 40,
  args: 41,
  count: 42,
  grain: 43,
  total: 44,
  chunk: 45,
  pointers: 46,
  result: 47,
  pointerArg: 48,
  pointerStride: 48 + MAX_POINTERS,
  values: 64, // f64 arguments, word-pair aligned
} as const;

/**
 * A call of a kernel export `f(...args)` whose work splits into
 * independent ranges: argument `count` is the number of units (elements,
 * rows, columns) the call covers, and each pointer argument advances by
 * its stride in bytes per unit. A chunk [u0, u1) calls f with
 * `args[count] = u1 − u0` and every pointer advanced by u0·stride; chunk
 * bounds fall on multiples of `grain` units (a SIMD width, a packing
 * tile), so every unit is computed by the same code as in one call.
 */
export interface CallJob {
  /** Index of the function (in {@link WorkerInit.functions}). */
  readonly fn: number;
  /** The whole call's arguments (numbers; i32 ones are passed exactly). */
  readonly args: readonly number[];
  /** Which argument holds the unit count. */
  readonly count: number;
  /** Units per chunk boundary. */
  readonly grain: number;
  /** [argument index, bytes per unit] of each pointer that advances. */
  readonly pointers: readonly (readonly [number, number])[];
}

/** Writes split call `job` (chunks of `chunk` units) and resets the counter. */
export function writeCallJob(
  control: Int32Array,
  job: CallJob,
  chunk: number,
): void {
  if (
    job.args.length > MAX_CALL_ARGS || job.pointers.length > MAX_POINTERS
  ) {
    throw new RangeError(
      `A split call takes at most ${MAX_CALL_ARGS} arguments and ${MAX_POINTERS} split pointers.`,
    );
  }
  control[KIND] = CALL_JOB;
  control[CALL.fn] = job.fn;
  control[CALL.args] = job.args.length;
  control[CALL.count] = job.count;
  control[CALL.grain] = job.grain;
  control[CALL.total] = job.args[job.count];
  control[CALL.chunk] = chunk;
  control[CALL.pointers] = job.pointers.length;
  job.pointers.forEach(([arg, stride], i) => {
    control[CALL.pointerArg + i] = arg;
    control[CALL.pointerStride + i] = stride;
  });
  const values = callValues(control);
  job.args.forEach((v, i) => (values[i] = v));
  Atomics.store(control, CALL.result, 0);
  Atomics.store(control, NEXT, 0);
}

function callValues(control: Int32Array): Float64Array {
  return new Float64Array(
    control.buffer,
    control.byteOffset + 4 * CALL.values,
    MAX_CALL_ARGS,
  );
}

/**
 * Claims and computes chunks of the split call the control block holds,
 * with `fn` its function, until none are left; a chunk's nonzero i32
 * result is OR-ed into the call's result word ({@link callResult}).
 */
export function runCallChunks(
  control: Int32Array,
  // deno-lint-ignore no-explicit-any
  fn: (...args: any[]) => unknown,
): void {
  const values = callValues(control);
  const args = Array.from(
    { length: control[CALL.args] },
    (_, i) => values[i],
  );
  const count = control[CALL.count];
  const total = control[CALL.total];
  const chunk = control[CALL.chunk];
  const pointers = Array.from(
    { length: control[CALL.pointers] },
    (_, i) => [control[CALL.pointerArg + i], control[CALL.pointerStride + i]],
  );
  const base = pointers.map(([arg]) => args[arg]);
  for (;;) {
    const u0 = Atomics.add(control, NEXT, 1) * chunk;
    if (u0 >= total) return;
    args[count] = Math.min(chunk, total - u0);
    pointers.forEach(([arg, stride], i) => (args[arg] = base[i] + u0 * stride));
    const result = fn(...args);
    if (typeof result === "number" && result !== 0) {
      Atomics.or(control, CALL.result, result);
    }
  }
}

/** Index of the function the posted split call runs. */
export function callFunction(control: Int32Array): number {
  return control[CALL.fn];
}

/** The OR of the nonzero results of the last split call's chunks. */
export function callResult(control: Int32Array): number {
  return Atomics.load(control, CALL.result);
}

/** Chunks per thread of a split call: enough to rebalance a slowed thread. */
const CALL_CHUNKS_PER_THREAD = 4;

/** Units per chunk of a split call of `total` units on `threads` threads. */
export function callChunk(
  total: number,
  grain: number,
  threads: number,
): number {
  const target = Math.ceil(total / (threads * CALL_CHUNKS_PER_THREAD));
  return Math.max(grain, Math.ceil(target / grain) * grain);
}

/**
 * Polls `control[index]` while it holds `value`, for up to {@linkcode SPINS}
 * reads, before a thread parks in `Atomics.wait` on it: a step posts
 * hundreds of short jobs back to back (the split elementwise and row-wise
 * kernels between GEMMs), and a parked thread takes tens to hundreds of
 * microseconds to wake — longer than many of those jobs. Spinning first
 * catches the next job (or the worker's last chunk) awake.
 */
export function spinWhile(
  control: Int32Array,
  index: number,
  value: number,
): void {
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(control, index) !== value) return;
  }
}

/**
 * Reads before parking: about 100 µs (an `Atomics.load` took 6 ns on the
 * 2-core test machine; 200,000 reads had spun 1.2 ms after every job).
 */
const SPINS = 16_384;

/** i32 words of the control block. */
export const CONTROL_WORDS = 64 + 2 * MAX_CALL_ARGS;

/** The control block at byte `address` of `memory` (a fresh view: growth replaces the buffer). */
export function controlBlock(
  memory: WebAssembly.Memory,
  address: number,
): Int32Array {
  return new Int32Array(memory.buffer, address, CONTROL_WORDS);
}

/** A function workers run: export `name` of a compiled module. */
export interface WorkerFunction {
  /** The module (it imports `env.memory`, shared). */
  readonly module: WebAssembly.Module;
  /** The export: `gemm` for GEMM jobs, any function for split calls. */
  readonly name: string;
}

/** The first message a worker receives. */
export interface WorkerInit {
  /** The functions jobs name by index; a module is instantiated once. */
  readonly functions: readonly WorkerFunction[];
  /** The shared memory both sides use. */
  readonly memory: WebAssembly.Memory;
  /** Byte address of the control block in `memory`. */
  readonly control: number;
  /** This worker's index. */
  readonly worker: number;
}
