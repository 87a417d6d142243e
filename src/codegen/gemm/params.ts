/**
 * The parameter domain of the GEMM generators and the kernel naming scheme.
 *
 * A kernel computes C[M,N] = epilogue(A[M,K] · B[K,N]) on packed operands.
 * Names encode every parameter that changes the generated code, following the
 * XNNPACK convention:
 * `gemm_<family>_<mr>x<nr>c<kstep>[u<kUnroll>]_<variant>[_i32out]`, e.g.
 * `gemm_s8s8_3x12c4_relaxed`, `gemm_s8s8_4x8c2_dot16`, `gemm_f32_5x8c1u4_madd`.
 * @module
 */

/** Operand types: int8·int8, int12 (stored i16)·int8, f32·f32. */
export type GemmFamily = "s8s8" | "s16s8" | "f32";

/**
 * How the inner product is computed.
 * - `dot16`: widen to i16, `i32x4.dot_i16x8_s` (exact for any int8 / int16 A).
 * - `relaxed`: `i32x4.relaxed_dot_i8x16_i7x16_add_s`, A split in two 7-bit halves (exact, A in [-127,127]).
 * - `relaxed7`: same instruction once, A offset by +64 (exact only for A in [-64,63]).
 * - `relaxed8`: same instruction once, A offset by +128 to an unsigned byte:
 *   exact for any int8 A, but only on engines whose relaxed dot multiplies
 *   unsigned × signed bytes without saturating (x64 AVX-VNNI's vpdpbusd),
 *   which `features.ts` probes before selecting it.
 * - `madd`: `f32x4.relaxed_madd` (fused or not, per hardware).
 * - `muladd`: `f32x4.mul` + `f32x4.add` (deterministic).
 */
export type GemmVariant =
  | "dot16"
  | "relaxed"
  | "relaxed7"
  | "relaxed8"
  | "madd"
  | "muladd";

/** What the kernel writes: f32 after scale and bias, or the raw i32 accumulators. */
export type GemmOutput = "f32" | "i32";

/** Parameters of one generated GEMM kernel. */
export interface GemmParams {
  /** Operand types. */
  readonly family: GemmFamily;
  /** Inner-product instruction scheme. */
  readonly variant: GemmVariant;
  /** Rows of the register tile (1..8). */
  readonly mr: number;
  /** Columns of the register tile (multiple of 4, 4..32). */
  readonly nr: number;
  /** Output kind; `i32` is only for integer families. */
  readonly output: GemmOutput;
  /**
   * k-steps per inner-loop iteration (1, 2 or 4; default 1): fewer pointer
   * bumps and branches per multiply-accumulate, which matters most for f32.
   */
  readonly kUnroll?: number;
}

/** Packed-layout constants a variant implies. */
export interface GemmLayout {
  /** K elements consumed per inner-loop step (A is padded to a multiple). */
  readonly kStep: number;
  /** Bytes of packed A per tile row per k-step. */
  readonly aRowStepBytes: number;
  /** Bytes of per-column i32 accumulator start values at the head of each B panel. */
  readonly bHeaderBytes: number;
  /** Whether the module needs the relaxed-SIMD proposal. */
  readonly relaxedSimd: boolean;
}

/** Thrown when generator parameters fall outside the checked domain. */
export class GemmParamError extends RangeError {
  /** Creates the error for `params`, saying what is wrong in `reason`. */
  constructor(readonly params: GemmParams, reason: string) {
    super(
      `Invalid GEMM kernel parameters ${JSON.stringify(params)}: ${reason}`,
    );
    this.name = "GemmParamError";
  }
}

const VARIANTS_OF: Readonly<Record<GemmFamily, readonly GemmVariant[]>> = {
  s8s8: ["dot16", "relaxed", "relaxed7", "relaxed8"],
  s16s8: ["dot16"],
  f32: ["madd", "muladd"],
};

/** Most v128 accumulators a tile may hold; beyond this V8 spills on x64 and arm64. */
export const MAX_ACCUMULATORS = 24;

/** Throws {@link GemmParamError} unless `p` is in the generator's domain. */
export function checkGemmParams(p: GemmParams): void {
  const fail = (reason: string) => {
    throw new GemmParamError(p, reason);
  };
  const variants = VARIANTS_OF[p.family];
  if (!variants) {
    fail(`family must be one of ${Object.keys(VARIANTS_OF).join(", ")}.`);
  }
  if (!variants.includes(p.variant)) {
    fail(`family ${p.family} supports variants ${variants.join(", ")}.`);
  }
  if (!Number.isInteger(p.mr) || p.mr < 1 || p.mr > 8) {
    fail("mr must be an integer in [1, 8].");
  }
  if (!Number.isInteger(p.nr) || p.nr < 4 || p.nr > 32 || p.nr % 4 !== 0) {
    fail("nr must be a multiple of 4 in [4, 32].");
  }
  if (p.mr * p.nr / 4 > MAX_ACCUMULATORS) {
    fail(
      `mr·nr/4 = ${p.mr * p.nr / 4} accumulators exceed ${MAX_ACCUMULATORS}.`,
    );
  }
  if (p.output !== "f32" && p.output !== "i32") {
    fail("output must be f32 or i32.");
  }
  if (p.family === "f32" && p.output !== "f32") fail("f32 kernels output f32.");
  if (p.kUnroll !== undefined && ![1, 2, 4].includes(p.kUnroll)) {
    fail("kUnroll must be 1, 2 or 4.");
  }
}

/** The packed layout implied by `p` (assumes `p` is checked). */
export function gemmLayout(p: GemmParams): GemmLayout {
  switch (p.variant) {
    case "dot16":
      return {
        kStep: 2,
        aRowStepBytes: 4,
        bHeaderBytes: 0,
        relaxedSimd: false,
      };
    case "relaxed":
      return {
        kStep: 4,
        aRowStepBytes: 8,
        bHeaderBytes: 4 * p.nr,
        relaxedSimd: true,
      };
    case "relaxed7":
    case "relaxed8":
      return {
        kStep: 4,
        aRowStepBytes: 4,
        bHeaderBytes: 4 * p.nr,
        relaxedSimd: true,
      };
    case "madd":
      return { kStep: 1, aRowStepBytes: 4, bHeaderBytes: 0, relaxedSimd: true };
    case "muladd":
      return {
        kStep: 1,
        aRowStepBytes: 4,
        bHeaderBytes: 0,
        relaxedSimd: false,
      };
  }
}

/** The kernel name encoding every code-changing parameter. */
export function gemmKernelName(p: GemmParams): string {
  const { kStep } = gemmLayout(p);
  const suffix = p.output === "i32" ? "_i32out" : "";
  const unroll = (p.kUnroll ?? 1) > 1 ? `u${p.kUnroll}` : "";
  return `gemm_${p.family}_${p.mr}x${p.nr}c${kStep}${unroll}_${p.variant}${suffix}`;
}

/**
 * The A values a variant accepts, or `undefined` for f32: dot16 takes any
 * int8 (s8s8) or int16 (s16s8, meant for int12); relaxed needs A ≥ −127 and
 * relaxed7 A in [−64, 63], relaxed8 any int8 (see `gemm_s8s8.ts`). The
 * packers reject values outside it.
 */
export function aRangeOf(
  p: GemmParams,
): readonly [number, number] | undefined {
  if (p.family === "f32") return undefined;
  if (p.family === "s16s8") return [-32768, 32767];
  if (p.variant === "relaxed") return [-127, 127];
  if (p.variant === "relaxed7") return [-64, 63];
  return [-128, 127];
}

/**
 * The offset the relaxed variants add to A to make the dot's unsigned
 * operand (`gemm_s8s8.ts`); each B panel header starts its columns at
 * −offset·Σ_k b to take it back out. 0 for the other variants.
 */
export function offsetOfA(p: GemmParams): number {
  switch (p.variant) {
    case "relaxed":
      return 127;
    case "relaxed7":
      return 64;
    case "relaxed8":
      return 128;
    default:
      return 0;
  }
}

/** B values of the integer families: any int8. */
export const B_RANGE_INT8: readonly [number, number] = [-128, 127];

/**
 * The largest K whose worst-case sum Σ_k a·b still fits in i32, so an integer
 * kernel stays exact: ⌊(2³¹ − 1) / (max|A| · 128)⌋, with max|A| from
 * {@link aRangeOf} unless given. Infinity for f32. s8s8: 131071 (dot16),
 * 132104 (relaxed); s16s8 on int12 data (max|A| = 2048): 8191.
 */
export function maxExactK(p: GemmParams, maxAbsA?: number): number {
  const range = aRangeOf(p);
  if (!range) return Infinity;
  const maxA = maxAbsA ?? Math.max(-range[0], range[1]);
  return maxA === 0
    ? Infinity
    : Math.floor((2 ** 31 - 1) / (maxA * -B_RANGE_INT8[0]));
}
