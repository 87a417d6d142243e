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
  productOperands,
  referenceGemmIntToF32,
  relaxedProbeModule,
  rowMajor,
  selectF32Params,
  selectF32Variant,
  selectS8Variant,
  type TrainingProduct,
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

Deno.test("feature selection picks relaxed when available and falls back to exact dot16", async () => {
  assert.equal(selectS8Variant(false), "dot16");
  assert.equal(selectS8Variant(true), "relaxed");
  assert.equal(selectF32Variant(false), "muladd");
  // The tuned f32 choices are manifest entries, so the sweep covers them.
  for (const available of [false, true]) {
    const chosen = JSON.stringify(selectF32Params(available));
    assert.ok(GEMM_MANIFEST.some((e) => JSON.stringify(e.params) === chosen));
  }
  assert.equal(selectS8Variant(), hasRelaxedSimd() ? "relaxed" : "dot16");
  const rand = seeded(3);
  const a = rowMajor(randomInts(Int8Array, 19 * 70, [-127, 127], rand), 19, 70);
  const b = rowMajor(randomInts(Int8Array, 70 * 29, [-128, 127], rand), 70, 29);
  const outputs = [];
  for (const available of [false, hasRelaxedSimd()]) {
    const kernel = await GemmKernel.create({
      ...base,
      variant: selectS8Variant(available),
    });
    outputs.push(kernel.matmul(a, b, { scale: 2 ** -14 }));
  }
  assert.equal(firstMismatch(outputs[0], outputs[1]), -1);
  assert.equal(
    firstMismatch(outputs[0], referenceGemmIntToF32(a, b, { scale: 2 ** -14 })),
    -1,
  );
});

Deno.test("the three training products read strided operands, write strided C, and cache-block rows", async () => {
  const [M, K, N] = [23, 45, 31];
  const rand = seeded(11);
  const x = rowMajor(randomInts(Int8Array, M * K, [-64, 63], rand), M, K);
  const w = rowMajor(randomInts(Int8Array, K * N, [-127, 127], rand), K, N);
  const dy = rowMajor(randomInts(Int8Array, M * N, [-64, 63], rand), M, N);
  const variants = hasRelaxedSimd()
    ? ["dot16", "relaxed", "relaxed7"] as const
    : ["dot16"] as const;
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
