/**
 * The GEMM manifest: every kernel variant the project ships, with the operand
 * ranges its exactness holds for. The same list drives the edge-case sweep
 * tests (bit-for-bit against the scalar reference) and `bench/kernels.ts`.
 * @module
 */

import {
  aRangeOf,
  B_RANGE_INT8,
  gemmLayout,
  type GemmParams,
} from "./params.ts";

/** One manifest entry: kernel parameters plus the operand domain. */
export interface GemmManifestEntry {
  /** Generator parameters. */
  readonly params: GemmParams;
  /** Inclusive value range of A elements the kernel is exact for. */
  readonly aRange: readonly [number, number];
  /** Inclusive value range of B elements. */
  readonly bRange: readonly [number, number];
}

const integer = (
  params: GemmParams,
  aRange = aRangeOf(params) ?? [0, 0],
): GemmManifestEntry => ({ params, aRange, bRange: B_RANGE_INT8 });

const s8 = (
  variant: "dot16" | "relaxed" | "relaxed7" | "relaxed8",
  mr: number,
  nr: number,
  kUnroll = 1,
  output: "f32" | "i32" = "f32",
): GemmManifestEntry =>
  integer({ family: "s8s8", variant, mr, nr, output, kUnroll });

/** All shipped GEMM kernels. */
export const GEMM_MANIFEST: readonly GemmManifestEntry[] = [
  // k unrolled twice: fewer pointer bumps per dot; up to 1.3× for relaxed7.
  s8("dot16", 3, 12, 2),
  s8("dot16", 4, 8),
  s8("dot16", 3, 12, 2, "i32"),
  s8("relaxed", 3, 12, 2),
  s8("relaxed", 4, 8),
  s8("relaxed", 3, 12, 2, "i32"),
  s8("relaxed7", 3, 12),
  s8("relaxed7", 4, 12, 2),
  s8("relaxed8", 3, 12, 2),
  s8("relaxed8", 4, 12, 2),
  s8("relaxed8", 3, 12, 2, "i32"),
  s8("relaxed8", 4, 12, 2, "i32"),
  // int12 A: what the family is for, and what keeps K up to 8191 exact.
  integer(
    { family: "s16s8", variant: "dot16", mr: 3, nr: 12, output: "f32" },
    [-2048, 2047],
  ),
  // 6×8 is 12 accumulators + 2 B vectors + 1 splat: all 15 xmm registers V8
  // allocates on x64, no spills; mul + add needs one more, so muladd takes 4×12.
  {
    params: {
      family: "f32",
      variant: "madd",
      mr: 6,
      nr: 8,
      output: "f32",
      kUnroll: 4,
    },
    aRange: [-1, 1],
    bRange: [-1, 1],
  },
  {
    params: {
      family: "f32",
      variant: "muladd",
      mr: 4,
      nr: 12,
      output: "f32",
      kUnroll: 4,
    },
    aRange: [-1, 1],
    bRange: [-1, 1],
  },
];

/** Whether the entry needs the relaxed-SIMD proposal. */
export function needsRelaxedSimd(entry: GemmManifestEntry): boolean {
  return gemmLayout(entry.params).relaxedSimd;
}

/**
 * Edge-case sizes for an entry: below, at and above one tile (m, n), one
 * k-step and one unrolled k-loop iteration (k), plus one row and odd sizes.
 */
export function edgeCaseSizes(
  params: GemmParams,
): { m: number[]; n: number[]; k: number[] } {
  const { kStep } = gemmLayout(params);
  const unrolled = kStep * (params.kUnroll ?? 1);
  const uniq = (xs: number[]) =>
    [...new Set(xs.filter((x) => x >= 1))].sort((a, b) => a - b);
  return {
    m: uniq([1, params.mr - 1, params.mr, params.mr + 1, 2 * params.mr + 1]),
    n: uniq([1, 3, params.nr - 1, params.nr, params.nr + 1, 2 * params.nr + 5]),
    k: uniq([
      1,
      kStep - 1,
      kStep,
      kStep + 1,
      unrolled - 1,
      unrolled,
      unrolled + kStep + 1,
      3 * kStep + 1,
      37,
    ]),
  };
}
