import assert from "node:assert/strict";
import {
  edgeCaseSizes,
  GEMM_MANIFEST,
  GemmKernel,
  gemmKernelName,
  type GemmManifestEntry,
  type MatrixView,
  referenceGemmF32,
  referenceGemmI32,
  referenceGemmIntToF32,
  rowMajor,
  runsOnThisEngine,
} from "../../../src/codegen/gemm/mod.ts";
import { firstMismatch, randomFloats, randomInts, seeded } from "./random.ts";

/** Random A (m×k) and B (k×n) in the entry's operand domain. */
export function operands(
  entry: GemmManifestEntry,
  m: number,
  k: number,
  n: number,
  rand: () => number,
): { a: MatrixView; b: MatrixView } {
  const { family, variant } = entry.params;
  if (family === "f32") {
    const dyadic = variant === "madd"; // fused or not, dyadic sums are exact
    return {
      a: rowMajor(randomFloats(m * k, rand, dyadic), m, k),
      b: rowMajor(randomFloats(k * n, rand, dyadic), k, n),
    };
  }
  const aData = family === "s16s8"
    ? randomInts(Int16Array, m * k, entry.aRange, rand)
    : randomInts(Int8Array, m * k, entry.aRange, rand);
  return {
    a: rowMajor(aData, m, k),
    b: rowMajor(randomInts(Int8Array, k * n, entry.bRange, rand), k, n),
  };
}

/** What the kernel must produce, bit for bit. */
export function expected(
  entry: GemmManifestEntry,
  a: MatrixView,
  b: MatrixView,
  scale: number,
  bias?: Float32Array,
): Float32Array | Int32Array {
  if (entry.params.family === "f32") return referenceGemmF32(a, b, { bias });
  if (entry.params.output === "i32") return referenceGemmI32(a, b);
  return referenceGemmIntToF32(a, b, { scale, bias });
}

const runnable = GEMM_MANIFEST.filter((e) => runsOnThisEngine(e.params));
if (runnable.length < GEMM_MANIFEST.length) {
  console.warn(
    "This engine lacks relaxed SIMD or its unsigned dot: those kernels are not exercised here:",
    GEMM_MANIFEST.filter((e) => !runsOnThisEngine(e.params)).map((e) =>
      gemmKernelName(e.params)
    ).join(", "),
  );
}

for (const entry of runnable) {
  Deno.test(`edge-case sweep matches the scalar reference bit for bit: ${JSON.stringify(entry.params)}`, async () => {
    const kernel = await GemmKernel.create(entry.params);
    const sizes = edgeCaseSizes(entry.params);
    const rand = seeded(7);
    let cases = 0;
    for (const m of sizes.m) {
      for (const n of sizes.n) {
        for (const k of sizes.k) {
          const { a, b } = operands(entry, m, k, n, rand);
          const bias = cases % 2 === 0
            ? randomFloats(n, rand, true)
            : undefined;
          const scale = 2 ** -(cases % 9);
          const got = kernel.matmul(a, b, { scale, bias });
          const want = expected(entry, a, b, scale, bias);
          const at = firstMismatch(got, want);
          assert.equal(
            at,
            -1,
            `${kernel.module.name} m=${m} n=${n} k=${k}: element ${at} is ${
              got[at]
            }, want ${want[at]}`,
          );
          cases++;
        }
      }
    }
    assert.ok(cases >= 100);
  });
}

Deno.test("extreme operands stay exact: no i16 saturation, i32 sums beyond 2^24", async () => {
  for (const entry of runnable.filter((e) => e.params.output === "i32")) {
    const kernel = await GemmKernel.create(entry.params);
    const [m, k, n] = [5, 4099, 13];
    const [aLo, aHi] = entry.aRange;
    // Alternate the two A extremes so both 7-bit halves and the offset are stressed.
    const a = rowMajor(
      Int8Array.from({ length: m * k }, (_, i) => (i % 3 ? aLo : aHi)),
      m,
      k,
    );
    const b = rowMajor(new Int8Array(k * n).fill(-128), k, n);
    const got = kernel.matmul(a, b);
    const want = referenceGemmI32(a, b);
    assert.ok(Math.abs(want[0]) > 2 ** 24);
    assert.equal(firstMismatch(got, want), -1, kernel.module.name);
  }
});
