import assert from "node:assert/strict";
import {
  checkGemmParams,
  GEMM_MANIFEST,
  GemmKernel,
  gemmKernelName,
  gemmLayout,
  GemmParamError,
  type GemmParams,
  generateGemm,
  hasRelaxedSimd,
  hasUnsignedRelaxedDot,
  maxExactK,
  productOperands,
  referenceGemmI32,
  referenceGemmIntToF32,
  relaxedProbeModule,
  rowMajor,
  runsOnThisEngine,
  selectF32Params,
  selectF32Variant,
  selectS8Variant,
  type TrainingProduct,
  UNSIGNED_DOT_PROBE,
  unsignedDotExpected,
  unsignedDotProbeModule,
} from "../../../src/codegen/gemm/mod.ts";
import { firstMismatch, randomFloats, randomInts, seeded } from "./random.ts";

const base: GemmParams = {
  family: "s8s8",
  variant: "dot16",
  mr: 3,
  nr: 12,
  output: "f32",
};

Deno.test("every manifest kernel validates, with private and shared memory", () => {
  for (const { params } of GEMM_MANIFEST) {
    for (const shared of [false, true]) {
      const mod = generateGemm(params, shared);
      const supported = !gemmLayout(params).relaxedSimd || hasRelaxedSimd();
      assert.equal(WebAssembly.validate(mod.bytes), supported, mod.name);
    }
  }
  assert.ok(WebAssembly.validate(relaxedProbeModule()) === hasRelaxedSimd());
});

Deno.test("kernel names encode family, tile, k-step, variant and output", () => {
  assert.equal(gemmKernelName(base), "gemm_s8s8_3x12c2_dot16");
  assert.equal(
    gemmKernelName({ ...base, variant: "relaxed", output: "i32" }),
    "gemm_s8s8_3x12c4_relaxed_i32out",
  );
  assert.equal(
    gemmKernelName({ ...base, family: "f32", variant: "madd", mr: 4, nr: 8 }),
    "gemm_f32_4x8c1_madd",
  );
  assert.equal(
    gemmKernelName({
      ...base,
      family: "f32",
      variant: "madd",
      mr: 6,
      nr: 8,
      kUnroll: 4,
    }),
    "gemm_f32_6x8c1u4_madd",
  );
  const listing = generateGemm({ ...base, variant: "relaxed" }).listing();
  assert.match(listing, /^\(func \$gemm_s8s8_3x12c4_relaxed /);
  assert.equal(
    listing.match(/i32x4\.relaxed_dot_i8x16_i7x16_add_s/g)?.length,
    3 * 3 * 2,
  );
});

Deno.test("parameters outside the domain throw GemmParamError naming the problem", () => {
  const bad: [Partial<GemmParams>, RegExp][] = [
    [{ mr: 0 }, /mr must be/],
    [{ mr: 9 }, /mr must be/],
    [{ nr: 10 }, /multiple of 4/],
    [{ mr: 8, nr: 16 }, /accumulators exceed/],
    [{ family: "s16s8", variant: "relaxed" }, /supports variants dot16/],
    [{ family: "f32", variant: "madd", output: "i32" }, /output f32/],
    [{ kUnroll: 3 }, /kUnroll must be/],
    [{ variant: "madd" }, /supports variants/],
  ];
  for (const [change, message] of bad) {
    const params = { ...base, ...change } as GemmParams;
    assert.throws(
      () => checkGemmParams(params),
      (e: unknown) => e instanceof GemmParamError && message.test(e.message),
    );
    assert.throws(() => generateGemm(params), GemmParamError);
  }
});

Deno.test("relaxed variants reject A outside their exactness precondition", async () => {
  if (!hasRelaxedSimd()) return;
  for (
    const [variant, bad] of [["relaxed", -128], ["relaxed7", 64], [
      "relaxed7",
      -65,
    ]] as const
  ) {
    const kernel = await GemmKernel.create({ ...base, variant });
    // 1×3 is all edge (checked path); 9×40 puts (4, 17) in the fast path.
    for (const [m, k, i, j] of [[1, 3, 0, 1], [9, 40, 4, 17]]) {
      const a = rowMajor(new Int8Array(m * k), m, k);
      a.data[i * k + j] = bad;
      const b = rowMajor(new Int8Array(k * 5).fill(1), k, 5);
      assert.throws(
        () => kernel.matmul(a, b),
        new RegExp(`needs A in .*A\\(${i}, ${j}\\) = ${bad}`),
      );
    }
  }
});

Deno.test("feature selection picks relaxed8, then relaxed, then exact dot16, and all agree", async () => {
  assert.equal(selectS8Variant(false), "dot16");
  assert.equal(selectS8Variant(false, true), "dot16");
  assert.equal(selectS8Variant(true, false), "relaxed");
  assert.equal(selectS8Variant(true, true), "relaxed8");
  assert.equal(selectF32Variant(false), "muladd");
  // The tuned f32 choices are manifest entries, so the sweep covers them.
  for (const available of [false, true]) {
    const chosen = JSON.stringify(selectF32Params(available));
    assert.ok(GEMM_MANIFEST.some((e) => JSON.stringify(e.params) === chosen));
  }
  assert.equal(
    selectS8Variant(),
    hasUnsignedRelaxedDot()
      ? "relaxed8"
      : hasRelaxedSimd()
      ? "relaxed"
      : "dot16",
  );
  const rand = seeded(3);
  const a = rowMajor(randomInts(Int8Array, 19 * 70, [-127, 127], rand), 19, 70);
  const b = rowMajor(randomInts(Int8Array, 70 * 29, [-128, 127], rand), 70, 29);
  const want = referenceGemmIntToF32(a, b, { scale: 2 ** -14 });
  const variants = (["dot16", "relaxed", "relaxed8"] as const).filter((v) =>
    runsOnThisEngine({ ...base, variant: v })
  );
  for (const variant of variants) {
    const kernel = await GemmKernel.create({ ...base, variant });
    const got = kernel.matmul(a, b, { scale: 2 ** -14 });
    assert.equal(firstMismatch(got, want), -1, variant);
  }
});

Deno.test("the unsigned-dot probe tells vpdpbusd from pmaddubsw and signed dots", () => {
  const { b, u, c } = UNSIGNED_DOT_PROBE;
  const wrap16 = (x: number) => Math.max(-32768, Math.min(32767, x));
  const asSigned = (x: number) => (x << 24) >> 24;
  const lanes = (
    pair: (b: readonly number[], u: readonly number[], q: number) => number,
  ) =>
    c.map((start, lane) =>
      start + pair(b[lane], u[lane], 0) + pair(b[lane], u[lane], 2)
    );
  const exact = lanes((x, y, q) => x[q] * y[q] + x[q + 1] * y[q + 1]);
  const saturating = lanes((x, y, q) =>
    wrap16(x[q] * y[q] + x[q + 1] * y[q + 1])
  );
  const signed = lanes((x, y, q) =>
    x[q] * asSigned(y[q]) + x[q + 1] * asSigned(y[q + 1])
  );
  const signedSaturating = lanes((x, y, q) =>
    wrap16(x[q] * asSigned(y[q]) + x[q + 1] * asSigned(y[q + 1]))
  );
  assert.deepEqual(unsignedDotExpected(), exact);
  // The all-255 lanes alone must expose each wrong lowering.
  for (const wrong of [saturating, signed, signedSaturating]) {
    assert.notEqual(wrong[0], exact[0]);
    assert.notEqual(wrong[1], exact[1]);
  }
  const dot = new WebAssembly.Instance(
    new WebAssembly.Module(unsignedDotProbeModule()),
  ).exports as { dot: () => void; memory: WebAssembly.Memory };
  if (!hasRelaxedSimd()) return assert.equal(hasUnsignedRelaxedDot(), false);
  dot.dot();
  const got = [...new Int32Array(dot.memory.buffer, 0, 4)];
  assert.equal(
    hasUnsignedRelaxedDot(),
    got.every((x, i) => x === exact[i]),
  );
  assert.ok(
    [exact, saturating, signed, signedSaturating].some((l) =>
      l.every((x, i) => x === got[i])
    ),
    `this engine's relaxed dot matches none of the known lowerings: ${got}`,
  );
});

Deno.test("relaxed8 is exact at the int8 extremes up to the K limit", async () => {
  const params: GemmParams = { ...base, variant: "relaxed8", output: "i32" };
  if (!runsOnThisEngine(params)) return;
  const kernel = await GemmKernel.create(params);
  const k = maxExactK(params);
  const a = rowMajor(new Int8Array(4 * k), 4, k);
  const b = rowMajor(new Int8Array(k * 13).fill(-128), k, 13);
  a.data.fill(-128, 0, k);
  a.data.fill(127, k, 2 * k);
  for (let j = 0; j < k; j++) a.data[2 * k + j] = j % 2 ? -128 : 127;
  a.data.fill(0, 3 * k);
  const got = kernel.matmul(a, b);
  const want = referenceGemmI32(a, b);
  assert.equal(firstMismatch(got, want), -1);
  assert.deepEqual([want[0], want[13]], [k * 128 * 128, -k * 127 * 128]);
});

Deno.test("the three training products read strided operands, write strided C, and cache-block rows", async () => {
  const [M, K, N] = [23, 45, 31];
  const rand = seeded(11);
  const x = rowMajor(randomInts(Int8Array, M * K, [-64, 63], rand), M, K);
  const w = rowMajor(randomInts(Int8Array, K * N, [-127, 127], rand), K, N);
  const dy = rowMajor(randomInts(Int8Array, M * N, [-64, 63], rand), M, N);
  const variants = (["dot16", "relaxed", "relaxed7", "relaxed8"] as const)
    .filter((variant) => runsOnThisEngine({ ...base, variant }));
  for (const variant of variants) {
    const kernel = await GemmKernel.create({ ...base, variant });
    for (
      const product of [
        "forward",
        "gradInput",
        "gradWeight",
      ] as TrainingProduct[]
    ) {
      const { a, b } = productOperands(product, { x, w, dy });
      const want = referenceGemmIntToF32(a, b, { scale: 2 ** -3 });
      const ldc = b.cols + 5;
      const bias = randomFloats(b.cols, rand, true);
      // blockTiles = 1 and 2: several row blocks, each revisiting every B panel.
      for (const blockTiles of [1, 2]) {
        const plan = kernel.plan(a.rows, a.cols, b.cols, {
          ldc,
          blockTiles,
          bias: true,
        });
        kernel.packA(plan, a);
        kernel.packB(plan, b);
        kernel.setBias(plan, bias);
        const guard = new Float32Array(
          kernel.memory.buffer,
          plan.cPtr,
          (a.rows - 1) * ldc + b.cols,
        );
        guard.fill(-7);
        kernel.compute(plan, 2 ** -3);
        const got = kernel.readOutput(plan);
        const withBias = want.map((v, i) => Math.fround(v + bias[i % b.cols]));
        assert.equal(
          firstMismatch(got, withBias),
          -1,
          `${variant} ${product} blockTiles=${blockTiles}`,
        );
        for (let i = 0; i < a.rows - 1; i++) {
          for (let j = b.cols; j < ldc; j++) {
            assert.equal(guard[i * ldc + j], -7, "wrote outside C");
          }
        }
      }
    }
  }
});

Deno.test("operands of the wrong type or shape are rejected", async () => {
  const kernel = await GemmKernel.create(base);
  const plan = kernel.plan(2, 3, 4);
  assert.throws(
    () => kernel.packA(plan, rowMajor(new Float32Array(6), 2, 3)),
    /must be a Int8Array/,
  );
  assert.throws(
    () => kernel.packB(plan, rowMajor(new Int8Array(12), 4, 3)),
    /plan expects 3×4/,
  );
  assert.throws(() => kernel.plan(0, 3, 4), /positive integer/);
  assert.throws(() => kernel.plan(2, 3, 4, { ldc: 3 }), /below n/);
  assert.throws(() => rowMajor(new Int8Array(5), 2, 3), /needs 6 elements/);
});
