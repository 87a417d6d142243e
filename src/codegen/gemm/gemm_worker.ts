/**
 * Worker side of the multi-threaded GEMM: instantiates the compiled kernels on
 * the shared memory, then loops — block on `SEQ`, claim and compute chunks of
 * the posted job, signal `done` — until the quit flag is set. See `thread_protocol.ts`.
 *
 * The wait is a blocking `Atomics.wait`, not `Atomics.waitAsync`: in Deno a
 * `waitAsync` promise settles only when something else drains the worker's V8
 * message loop (denoland/deno#14786, #15358), so a notify could go unseen for
 * milliseconds or forever. That made two-thread runs bimodal and hung the
 * parallel test; a parked thread costs nothing here, since this worker has no
 * other work and wasm tier-up publishes code from background threads.
 * @module
 */

import type { GemmExport } from "./kernel.ts";
import {
  controlBlock,
  doneWord,
  failedWord,
  QUIT,
  readJob,
  runChunks,
  scratchWord,
  SEQ,
  type WorkerInit,
} from "./thread_protocol.ts";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerInit>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async (event) => {
  scope.onmessage = null;
  const { modules, memory, control: address, worker } = event.data;
  const gemms = await Promise.all(modules.map(async (module) => {
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    return instance.exports.gemm as GemmExport;
  }));
  const control = controlBlock(memory, address);
  // Read before "ready": once the caller sees it, SEQ may move at any time,
  // and a later read could swallow the first job.
  let seen = Atomics.load(control, SEQ);
  scope.postMessage("ready");
  while (Atomics.load(control, QUIT) === 0) {
    Atomics.wait(control, SEQ, seen);
    const seq = Atomics.load(control, SEQ);
    if (seq === seen) continue;
    seen = seq;
    try {
      const job = readJob(control);
      runChunks(control, job, gemms[job.module], control[scratchWord(worker)]);
    } catch (error) {
      // Report instead of dying silently, so the caller throws rather than waits.
      Atomics.store(control, failedWord(worker), seq);
      scope.postMessage(`GEMM worker ${worker} failed: ${error}`);
    }
    Atomics.store(control, doneWord(worker), seq);
    Atomics.notify(control, doneWord(worker));
  }
};
