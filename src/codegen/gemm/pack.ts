/**
 * The packed operand layouts the generated kernels stream (see `generate.ts`),
 * their sizes, and the operand checks shared by the generated packers
 * (`pack_wasm.ts`) and the TypeScript reference packers
 * (`pack_reference.ts`). K is zero-padded to the variant's k-step in B (so
 * padded A values never contribute); M and N are padded to whole tiles
 * (padded outputs are computed but never stored).
 *
 * A, per row tile t, per k-step s, per tile row r: `aRowStepBytes` bytes:
 *   dot16 [a(k), a(k+1)] as i16 · relaxed [lo(k..k+3)], [hi(k..k+3)] as u8 ·
 *   relaxed7 [a(k..k+3) + 64] and relaxed8 [a(k..k+3) + 128] as u8 · f32 [a(k)].
 * B, per column panel: header (i32 start value per column, relaxed only), then
 * per k-step, per group of 4 columns, one 16-byte vector:
 *   dot16 [b(k,n), b(k+1,n)] × 4 columns as i16 · relaxed [b(k..k+3, n)] × 4 as i8 ·
 *   f32 [b(k, n)] × 4.
 * @module
 */

import type { MatrixView } from "./matrix.ts";
import { aRangeOf, gemmLayout, type GemmParams } from "./params.ts";

/** Number of k-steps for reduction length `k`. */
export function kSteps(p: GemmParams, k: number): number {
  return Math.ceil(k / gemmLayout(p).kStep);
}

/** Bytes of packed A for an m × k operand. */
export function packedASize(p: GemmParams, m: number, k: number): number {
  return Math.ceil(m / p.mr) * kSteps(p, k) * p.mr *
    gemmLayout(p).aRowStepBytes;
}

/** Bytes of packed B for a k × n operand. */
export function packedBSize(p: GemmParams, k: number, n: number): number {
  const { bHeaderBytes } = gemmLayout(p);
  return Math.ceil(n / p.nr) * (bHeaderBytes + kSteps(p, k) * p.nr * 4);
}

/** Throws unless `v` has the element type operand `operand` of `p` needs. */
export function expectOperandType(
  p: GemmParams,
  v: MatrixView,
  operand: "A" | "B",
): void {
  const want = p.family === "f32"
    ? Float32Array
    : p.family === "s16s8" && operand === "A"
    ? Int16Array
    : Int8Array;
  if (!(v.data instanceof want)) {
    throw new TypeError(
      `Operand ${operand} of a ${p.family} GEMM must be a ${want.name}, got ${v.data.constructor.name}.`,
    );
  }
}

/**
 * Whether the packers must check A against {@link aRangeOf}: the relaxed
 * variants whose range is narrower than int8.
 */
export function checksARange(p: GemmParams): boolean {
  return p.variant === "relaxed" || p.variant === "relaxed7";
}

/**
 * Throws a RangeError naming the first A value outside the relaxed variants'
 * exact range, if there is one.
 */
export function expectARange(p: GemmParams, a: MatrixView): void {
  const range = aRangeOf(p);
  if (!range || !checksARange(p)) return;
  const [lowest, highest] = range;
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      const x = a.data[a.offset + i * a.rowStride + j * a.colStride];
      if (x < lowest || x > highest) {
        throw new RangeError(
          `GEMM variant ${p.variant} needs A in [${lowest}, ${highest}]; ` +
            `A(${i}, ${j}) = ${x}. Use dot16 for full-range int8.`,
        );
      }
    }
  }
}
