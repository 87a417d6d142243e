import assert from "node:assert/strict";
import {
  canUseThreads,
  GemmKernel,
  type GemmParams,
  ParallelGemm,
  rowMajor,
  selectF32Variant,
  selectS8Variant,
} from "../../../src/codegen/gemm/mod.ts";
import {
  controlBlock,
  doneWord,
  EXITED,
} from "../../../src/codegen/gemm/thread_protocol.ts";
import { firstMismatch, randomFloats, randomInts, seeded } from "./random.ts";

const s8: GemmParams = {
  family: "s8s8",
  variant: selectS8Variant(),
  mr: 3,
  nr: 12,
  output: "f32",
};
const f32: GemmParams = {
  family: "f32",
  variant: selectF32Variant(),
  mr: 4,
  nr: 12,
  output: "f32",
};

Deno.test("two-thread GEMM equals one-thread GEMM bit for bit", async () => {
  assert.ok(
    canUseThreads(),
    "this engine should support shared memory and workers",
  );
  for (const params of [s8, f32]) {
    const one = await GemmKernel.create(params);
    using two = await ParallelGemm.create(params, 2);
    assert.equal(two.threads, 2);
    const rand = seeded(5);
    // m = 1 and 2 leave the worker an empty share; 300 × 97 grows memory between calls.
    for (
      const [m, k, n] of [[1, 9, 5], [2, 40, 30], [37, 64, 50], [300, 97, 61], [
        64,
        300,
        12,
      ]]
    ) {
      const a = params.family === "f32"
        ? rowMajor(randomFloats(m * k, rand, false), m, k)
        : rowMajor(randomInts(Int8Array, m * k, [-127, 127], rand), m, k);
      const b = params.family === "f32"
        ? rowMajor(randomFloats(k * n, rand, false), k, n)
        : rowMajor(randomInts(Int8Array, k * n, [-128, 127], rand), k, n);
      const bias = randomFloats(n, rand, false);
      const options = { scale: 2 ** -10, bias, ldc: n + 3 };
      const want = one.matmul(a, b, options);
      for (let repeat = 0; repeat < 3; repeat++) {
        const got = two.matmul(a, b, options);
        assert.equal(
          firstMismatch(got, want),
          -1,
          `${params.variant} m=${m} k=${k} n=${n}`,
        );
      }
    }
  }
});

Deno.test("one thread needs no workers and no shared memory", async () => {
  using single = await ParallelGemm.create(s8, 1);
  assert.equal(single.threads, 1);
  assert.ok(!(single.kernel.memory.buffer instanceof SharedArrayBuffer));
  const a = rowMajor(Int8Array.of(1, 2, 3, 4), 2, 2);
  const b = rowMajor(Int8Array.of(5, 6, 7, 8), 2, 2);
  assert.deepEqual(Array.from(single.matmul(a, b)), [19, 22, 43, 50]);
  await assert.rejects(() => ParallelGemm.create(s8, 0), /threads must be/);
});

Deno.test("a worker picks up jobs posted right after it starts, and empty shares stay in step", async () => {
  const rand = seeded(9);
  for (let round = 0; round < 4; round++) {
    using two = await ParallelGemm.create(s8, 2);
    // m = 1 leaves the worker nothing; the jobs after it must still run there.
    for (const m of [1, 1, 2, 30, 1, 31]) {
      const a = rowMajor(
        randomInts(Int8Array, m * 20, [-127, 127], rand),
        m,
        20,
      );
      const b = rowMajor(
        randomInts(Int8Array, 20 * 7, [-128, 127], rand),
        20,
        7,
      );
      const want = (await GemmKernel.create(s8)).matmul(a, b);
      assert.equal(firstMismatch(two.matmul(a, b), want), -1, `m=${m}`);
    }
  }
});

Deno.test("threads start even after a library replaced the global Worker", async () => {
  const native = globalThis.Worker;
  // What onnxruntime-web does under Deno once it has run a session.
  globalThis.Worker = class {
    constructor() {
      throw new TypeError("a worker_threads shim");
    }
  } as unknown as typeof Worker;
  try {
    using two = await ParallelGemm.create(s8, 2);
    assert.equal(two.threads, 2);
    const a = rowMajor(Int8Array.of(1, 2, 3, 4), 2, 2);
    const b = rowMajor(Int8Array.of(5, 6, 7, 8), 2, 2);
    assert.deepEqual(Array.from(two.matmul(a, b)), [19, 22, 43, 50]);
  } finally {
    globalThis.Worker = native;
  }
});

Deno.test("close right after a job: the worker, still spinning, quits before it is terminated", async () => {
  const rand = seeded(4);
  for (let round = 0; round < 5; round++) {
    const two = await ParallelGemm.create(s8, 2);
    const a = rowMajor(
      randomInts(Int8Array, 60 * 20, [-127, 127], rand),
      60,
      20,
    );
    const b = rowMajor(randomInts(Int8Array, 20 * 7, [-128, 127], rand), 20, 7);
    two.matmul(a, b);
    // No pause: the worker is in its spin, where a notify alone is not seen.
    two.close();
    const control = controlBlock(two.kernel.memory, 0);
    assert.equal(Atomics.load(control, doneWord(0)), EXITED, `round ${round}`);
  }
});
