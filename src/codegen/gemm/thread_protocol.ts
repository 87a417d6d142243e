/**
 * The shared-memory protocol between the main thread and GEMM workers: a block
 * of i32 words (`CONTROL_BYTES`) in the shared WASM memory — at address 0 of
 * a {@link ParallelGemm}'s own memory, inside the execution engine's
 * persistent region for its threads. Workers hold one or more GEMM modules;
 * the main thread writes one job — which module, the whole GEMM's
 * arguments — resets the chunk counter `NEXT`, bumps `SEQ` and notifies.
 * Every thread, the main one included, then claims chunks of row tiles with
 * `Atomics.add(NEXT)` until none are left ({@link runChunks}), so a thread
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
/** Word index where the job's words begin (see {@link JobWords}). */
export const JOB = 4;
/** Workers the control block has room for. */
export const MAX_WORKERS = 3;
/** Word index of worker w's (0-based) scratch tile address. */
export const scratchWord = (w: number): number => 24 + 4 * w;
/** Word index of worker w's completion word (the last sequence number done). */
export const doneWord = (w: number): number => scratchWord(w) + 1;
/** Word index of worker w's failure word (the last sequence number that threw). */
export const failedWord = (w: number): number => scratchWord(w) + 2;

/** A GEMM job as the threads see it: whole-problem arguments plus chunking. */
export interface JobWords {
  /** Index of the GEMM module (in {@link WorkerInit.modules}) that runs it. */
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

/** i32 words of the control block. */
export const CONTROL_WORDS = 64;

/** The control block at byte `address` of `memory` (a fresh view: growth replaces the buffer). */
export function controlBlock(
  memory: WebAssembly.Memory,
  address: number,
): Int32Array {
  return new Int32Array(memory.buffer, address, CONTROL_WORDS);
}

/** The first message a worker receives. */
export interface WorkerInit {
  /** Compiled GEMM modules (each imports `env.memory`, shared). */
  readonly modules: readonly WebAssembly.Module[];
  /** The shared memory both sides use. */
  readonly memory: WebAssembly.Memory;
  /** Byte address of the control block in `memory`. */
  readonly control: number;
  /** This worker's index. */
  readonly worker: number;
}
