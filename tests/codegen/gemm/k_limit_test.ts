import assert from "node:assert/strict";
import {
  GemmKernel,
  GemmKLimitError,
  type GemmParams,
  maxExactK,
  referenceGemmIntToF32,
  rowMajor,
} from "../../../src/codegen/gemm/mod.ts";
import { firstMismatch } from "./random.ts";

const s16: GemmParams = {
  family: "s16s8",
  variant: "dot16",
  mr: 3,
  nr: 12,
  output: "f32",
};

Deno.test("the exact-K limits follow from the operand ranges", () => {
  assert.equal(maxExactK(s16, 2048), 8191);
  assert.equal(maxExactK(s16, 2047), 8196);
  assert.equal(maxExactK({ ...s16, family: "s8s8" }), 131071);
  assert.equal(
    maxExactK({ ...s16, family: "s8s8", variant: "relaxed" }),
    132104,
  );
  assert.equal(maxExactK({ ...s16, family: "f32", variant: "madd" }), Infinity);
});

Deno.test("int12×int8 is exact up to K = 8191 at the worst-case extremes", async () => {
  const kernel = await GemmKernel.create(s16);
  const [m, k, n] = [2, 8191, 13];
  // Every product is +2^18, so the sum is 2^31 − 2^18: just below overflow.
  const a = rowMajor(new Int16Array(m * k).fill(-2048), m, k);
  const b = rowMajor(new Int8Array(k * n).fill(-128), k, n);
  const got = kernel.matmul(a, b);
  assert.equal(got[0], 2 ** 31 - 2 ** 18);
  assert.equal(firstMismatch(got, referenceGemmIntToF32(a, b)), -1);
});

Deno.test("int12×int8 beyond its K limit throws GemmKLimitError naming K and max |A|", async () => {
  const kernel = await GemmKernel.create(s16);
  const [m, k, n] = [2, 8192, 5];
  const a = rowMajor(new Int16Array(m * k), m, k);
  const b = rowMajor(new Int8Array(k * n), k, n);
  a.data[k + 100] = -2048;
  assert.throws(
    () => kernel.matmul(a, b),
    (e: unknown) =>
      e instanceof GemmKLimitError && e.limit === 8191 && e.maxAbsA === 2048 &&
      /K = 8192 exceeds 8191.*max \|A\| = 2048.*Split K/.test(e.message),
  );
  // The limit is on the data: with |A| ≤ 2047, K = 8192 is exact.
  a.data[k + 100] = 2047;
  assert.equal(kernel.matmul(a, b).length, m * n);
});

Deno.test("int8 kernels refuse K beyond their static limit when planning", async () => {
  const kernel = await GemmKernel.create({ ...s16, family: "s8s8" });
  assert.throws(() => kernel.plan(1, 131072, 1), GemmKLimitError);
});
