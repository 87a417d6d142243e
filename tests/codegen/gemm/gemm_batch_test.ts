import assert from "node:assert/strict";
import {
  type GemmParams,
  generateGemm,
  kSteps,
  type MatrixView,
  packedASize,
  packedBSize,
  referenceGemmF32,
  selectF32Params,
} from "../../../src/codegen/gemm/mod.ts";
import { firstMismatch, randomFloats, seeded } from "./random.ts";

type Fn = (...args: number[]) => number;

const align64 = (x: number) => Math.ceil(x / 64) * 64;

/** A GEMM module on a fresh 64-page memory, with its exports. */
function instantiate(params: GemmParams) {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64 });
  const exports = new WebAssembly.Instance(
    new WebAssembly.Module(generateGemm(params).bytes),
    { env: { memory } },
  ).exports as Record<"gemm" | "packA" | "packB" | "gemmBatch", Fn>;
  return { memory, f32: new Float32Array(memory.buffer), ...exports };
}

interface Case {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly count: number;
  readonly transA: boolean;
  readonly transB: boolean;
  /** B's matrices per product: 1, or 0 for one B broadcast to all. */
  readonly bAdvance: 0 | 1;
}

const CASES: Case[] = [
  { m: 13, k: 7, n: 9, count: 3, transA: false, transB: false, bAdvance: 1 },
  { m: 128, k: 64, n: 128, count: 4, transA: false, transB: true, bAdvance: 1 },
  { m: 33, k: 21, n: 17, count: 5, transA: true, transB: false, bAdvance: 0 },
  { m: 1, k: 1, n: 1, count: 2, transA: true, transB: true, bAdvance: 1 },
];

const A_AT = 0, B_AT = 1 << 20, C_AT = 2 << 20, WORK_AT = 3 << 20;

/** Strides of an m×k matrix stored row-major, or stored transposed (k×m). */
const strides = (rows: number, cols: number, trans: boolean) =>
  trans ? { rowStride: 1, colStride: rows } : { rowStride: cols, colStride: 1 };

for (const dyadic of [true, false]) {
  Deno.test(`gemmBatch computes each product as packA, packB and gemm alone${dyadic ? ", and as the scalar reference on dyadic values" : ""}`, () => {
    const params = selectF32Params();
    const g = instantiate(params);
    const rand = seeded(dyadic ? 5 : 6);
    for (const c of CASES) {
      const { m, k, n, count } = c;
      const bCount = c.bAdvance ? count : 1;
      g.f32.set(randomFloats(count * m * k, rand, dyadic), A_AT / 4);
      g.f32.set(randomFloats(bCount * k * n, rand, dyadic), B_AT / 4);
      const sa = strides(m, k, c.transA), sb = strides(k, n, c.transB);
      const aAt = align64(params.mr * params.nr * 4);
      const bAt = aAt + align64(packedASize(params, m, k));
      const workStep = bAt + align64(packedBSize(params, k, n));
      const ksteps = kSteps(params, k);
      g.gemmBatch(
        A_AT,
        sa.rowStride,
        sa.colStride,
        m * k * 4,
        B_AT,
        sb.rowStride,
        sb.colStride,
        c.bAdvance * k * n * 4,
        C_AT,
        m * n * 4,
        count,
        m,
        k,
        n,
        WORK_AT,
        workStep,
        aAt,
        bAt,
        4,
      );
      const got = g.f32.slice(C_AT / 4, C_AT / 4 + count * m * n);
      for (let q = 0; q < count; q++) {
        const a = A_AT + q * m * k * 4, b = B_AT + q * c.bAdvance * k * n * 4;
        const want = C_AT + count * m * n * 4;
        g.packA(a, sa.rowStride, sa.colStride, m, k, WORK_AT + aAt);
        g.packB(b, sb.colStride, sb.rowStride, n, k, WORK_AT + bAt);
        g.gemm(
          WORK_AT + aAt,
          WORK_AT + bAt,
          want,
          m,
          n,
          ksteps,
          n,
          1,
          0,
          WORK_AT,
          4,
        );
        const alone = g.f32.slice(want / 4, want / 4 + m * n);
        const product = got.subarray(q * m * n, (q + 1) * m * n);
        const what = `${JSON.stringify(c)} product ${q}`;
        assert.equal(firstMismatch(product, alone), -1, what);
        if (dyadic) {
          const view = (
            at: number,
            rows: number,
            cols: number,
            trans: boolean,
          ): MatrixView => ({
            data: g.f32,
            offset: at / 4,
            rows,
            cols,
            ...strides(rows, cols, trans),
          });
          const reference = referenceGemmF32(
            view(a, m, k, c.transA),
            view(b, k, n, c.transB),
          );
          assert.equal(firstMismatch(product, reference), -1, what);
        }
      }
    }
  });
}

Deno.test("integer GEMM modules have no gemmBatch", () => {
  const params: GemmParams = {
    family: "s8s8",
    variant: "dot16",
    mr: 3,
    nr: 12,
    output: "f32",
  };
  assert.equal(instantiate(params).gemmBatch, undefined);
  assert.equal(typeof instantiate(selectF32Params()).gemmBatch, "function");
});
