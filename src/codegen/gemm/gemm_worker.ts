/**
 * Worker side of the multi-threaded kernels: instantiates the compiled
 * modules on the shared memory, then loops — block on `SEQ`, claim and
 * compute chunks of the posted job (a GEMM or a split call), signal `done`
 * — until the quit flag is set. See `thread_protocol.ts`.
 *
 * Between jobs the worker spins briefly, then parks in a blocking
 * `Atomics.wait`, not `Atomics.waitAsync`: in Deno a
 * `waitAsync` promise settles only when something else drains the worker's V8
 * message loop (denoland/deno#14786, #15358), so a notify could go unseen for
 * milliseconds or forever. That made two-thread runs bimodal and hung the
 * parallel test; a parked thread costs nothing here, since this worker has no
 * other work and wasm tier-up publishes code from background threads.
 * @module
 */

import {
  callFunction,
  controlBlock,
  doneWord,
  EXITED,
  failedWord,
  GEMM_JOB,
  KIND,
  QUIT,
  readJob,
  runCallChunks,
  runChunks,
  scratchWord,
  SEQ,
  spinWhile,
  type WorkerInit,
} from "./thread_protocol.ts";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerInit>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async (event) => {
  scope.onmessage = null;
  const { functions, memory, control: address, worker } = event.data;
  const instances = new Map<
    WebAssembly.Module,
    Promise<WebAssembly.Instance>
  >();
  const fns = await Promise.all(functions.map(async ({ module, name }) => {
    let instance = instances.get(module);
    if (instance === undefined) {
      instance = WebAssembly.instantiate(module, { env: { memory } });
      instances.set(module, instance);
    }
    // deno-lint-ignore no-explicit-any
    return (await instance).exports[name] as (...args: any[]) => any;
  }));
  const control = controlBlock(memory, address);
  // Read before "ready": once the caller sees it, SEQ may move at any time,
  // and a later read could swallow the first job.
  let seen = Atomics.load(control, SEQ);
  scope.postMessage("ready");
  for (;;) {
    spinWhile(control, SEQ, seen);
    Atomics.wait(control, SEQ, seen);
    // `close` sets QUIT and then moves SEQ, so a worker still spinning when
    // it notified cannot go on to wait for a job that never comes.
    if (Atomics.load(control, QUIT) !== 0) {
      Atomics.store(control, doneWord(worker), EXITED);
      Atomics.notify(control, doneWord(worker));
      return;
    }
    const seq = Atomics.load(control, SEQ);
    if (seq === seen) continue;
    seen = seq;
    try {
      if (control[KIND] === GEMM_JOB) {
        const job = readJob(control);
        runChunks(control, job, fns[job.module], control[scratchWord(worker)]);
      } else {
        runCallChunks(control, fns[callFunction(control)]);
      }
    } catch (error) {
      // Report instead of dying silently, so the caller throws rather than waits.
      Atomics.store(control, failedWord(worker), seq);
      scope.postMessage(`Kernel worker ${worker} failed: ${error}`);
    }
    Atomics.store(control, doneWord(worker), seq);
    Atomics.notify(control, doneWord(worker));
  }
};
