import assert from "node:assert/strict";
import {
  edgeCaseSizes,
  GEMM_MANIFEST,
  GemmKernel,
  type GemmManifestEntry,
  type GemmPlan,
  type MatrixView,
  packedASize,
  packedBSize,
  productOperands,
  referencePackA,
  referencePackB,
  rowMajor,
  runsOnThisEngine,
  type TrainingProduct,
} from "../../../src/codegen/gemm/mod.ts";
import { randomFloats, randomInts, seeded } from "./random.ts";

const PRODUCTS: TrainingProduct[] = ["forward", "gradInput", "gradWeight"];

/** Row-major X (m×k), W (k×n), dY (m×n) in the entry's domain. */
function layerOperands(
  entry: GemmManifestEntry,
  [m, k, n]: readonly [number, number, number],
  rand: () => number,
) {
  const { family } = entry.params;
  const b = (len: number) =>
    family === "f32"
      ? randomFloats(len, rand, false)
      : randomInts(Int8Array, len, entry.bRange, rand);
  const a = (len: number) =>
    family === "f32"
      ? randomFloats(len, rand, false)
      : family === "s16s8"
      ? randomInts(Int16Array, len, entry.aRange, rand)
      : randomInts(Int8Array, len, entry.aRange, rand);
  // dY is A of gradInput, B of gradWeight: keep it in both ranges.
  const dyRange = [
    Math.max(entry.aRange[0], entry.bRange[0]),
    Math.min(entry.aRange[1], entry.bRange[1]),
  ] as const;
  const dyData = family === "f32"
    ? randomFloats(m * n, rand, false)
    : randomInts(Int8Array, m * n, dyRange, rand);
  return {
    x: rowMajor(a(m * k), m, k),
    w: rowMajor(b(k * n), k, n),
    dy: rowMajor(dyData, m, n),
  };
}

/** For s16s8, dY as A (gradInput) must be int16: the same values widened. */
function asOperandOf(
  layer: ReturnType<typeof layerOperands>,
  product: TrainingProduct,
): { x: MatrixView; w: MatrixView; dy: MatrixView } {
  const { dy } = layer;
  if (product !== "gradInput" || !(layer.x.data instanceof Int16Array)) {
    return layer;
  }
  return { ...layer, dy: { ...dy, data: Int16Array.from(dy.data) } };
}

/** The bytes at `ptr` of the kernel's memory. */
const bytesAt = (kernel: GemmKernel, ptr: number, length: number) =>
  new Uint8Array(kernel.memory.buffer, ptr, length).slice();

function referenceBytes(
  kernel: GemmKernel,
  which: "A" | "B",
  v: MatrixView,
): Uint8Array {
  const p = kernel.params;
  const size = which === "A"
    ? packedASize(p, v.rows, v.cols)
    : packedBSize(p, v.rows, v.cols);
  const out = new ArrayBuffer(size);
  if (which === "A") referencePackA(p, v, out, 0);
  else referencePackB(p, v, out, 0);
  return new Uint8Array(out);
}

function expectSamePacking(
  kernel: GemmKernel,
  plan: GemmPlan,
  a: MatrixView,
  b: MatrixView,
  what: string,
): void {
  kernel.packA(plan, a);
  kernel.packB(plan, b);
  const wantA = referenceBytes(kernel, "A", a);
  const wantB = referenceBytes(kernel, "B", b);
  assert.deepEqual(
    bytesAt(kernel, plan.aPtr, wantA.length),
    wantA,
    `A ${what}`,
  );
  assert.deepEqual(
    bytesAt(kernel, plan.bPtr, wantB.length),
    wantB,
    `B ${what}`,
  );
}

const runnable = GEMM_MANIFEST.filter((e) => runsOnThisEngine(e.params));

for (const entry of runnable) {
  Deno.test(`generated packers write the reference layout for all three products: ${JSON.stringify(entry.params)}`, async () => {
    const kernel = await GemmKernel.create(entry.params);
    const sizes = edgeCaseSizes(entry.params);
    const rand = seeded(13);
    let cases = 0;
    for (const m of sizes.m) {
      for (const n of sizes.n) {
        for (const k of sizes.k) {
          const layer = layerOperands(entry, [m, k, n], rand);
          for (const product of PRODUCTS) {
            const { a, b } = productOperands(
              product,
              asOperandOf(layer, product),
            );
            const plan = kernel.plan(a.rows, a.cols, b.cols);
            expectSamePacking(kernel, plan, a, b, `${product} ${m}×${k}×${n}`);
            cases++;
          }
        }
      }
    }
    assert.ok(cases >= 300);
  });
}

Deno.test("generated packers read operands in place and through offset, strided windows", async () => {
  for (const entry of runnable) {
    const kernel = await GemmKernel.create(entry.params);
    const rand = seeded(17);
    const [m, k, n] = [11, 23, 29];
    const layer = layerOperands(entry, [m + 3, k + 2, n + 4], rand);
    // A window of X starting at (2, 1), rows still m + 3 wide apart.
    const window = (v: MatrixView, rows: number, cols: number): MatrixView => ({
      ...v,
      offset: 2 * v.rowStride + 1,
      rows,
      cols,
    });
    const x = window(layer.x, m, k);
    const w = window(layer.w, k, n);
    const plan = kernel.plan(m, k, n);
    expectSamePacking(kernel, plan, x, w, `${kernel.module.name} window`);
    // The same operands copied into the kernel's memory are packed in place.
    const placed = (v: MatrixView, at: number): MatrixView => {
      const Type = v.data.constructor as Int8ArrayConstructor;
      const data = new Type(kernel.memory.buffer, at, v.data.length);
      data.set(v.data as Int8Array);
      return { ...v, data };
    };
    kernel.memory.grow(1);
    const xIn = placed(x, plan.stagingPtr + 4096);
    const wIn = placed(w, plan.stagingPtr + 8192);
    assert.equal(xIn.data.buffer, kernel.memory.buffer);
    expectSamePacking(kernel, plan, xIn, wIn, `${kernel.module.name} in place`);
  }
});
