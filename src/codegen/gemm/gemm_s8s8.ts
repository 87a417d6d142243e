/**
 * The int8×int8 → int32 GEMM family: inner-product steps for the `dot16`,
 * `relaxed`, `relaxed7` and `relaxed8` variants. Packing lives in `pack_s8.ts`.
 *
 * Exactness of `relaxed` (proof). `i32x4.relaxed_dot_i8x16_i7x16_add_s(b, u, c)`
 * is deterministic when every lane of its second operand u is in [0, 127]:
 * x64 without VNNI computes pmaddubsw(u, b) (pair sums |u0·b0 + u1·b1| ≤
 * 2·127·128 = 32512 < 2^15, so the i16 saturation never fires) then pmaddwd by
 * ones and a modular i32 add; with AVX-VNNI it is vpdpbusd (unsigned u, signed
 * b, non-saturating); arm64 uses sdot. All three give Σ u·b + c modulo 2^32.
 * For A in [-127, 127] let w = a + 127 ∈ [0, 254], lo = min(w, 127) and
 * hi = w − lo; both are in [0, 127] and lo + hi = a + 127. Two relaxed dots give
 * Σ_k (lo + hi)·b = Σ_k a·b + 127·Σ_k b, and each accumulator starts at
 * −127·Σ_k b[k, n] (stored in the B panel header), so it ends at Σ_k a·b
 * exactly, modulo 2^32 — i.e. exactly whenever the true sum fits in i32
 * (|Σ| ≤ K·127·128, K ≤ 132,000).
 *
 * `relaxed7` needs A in [-64, 63]: u = a + 64 ∈ [0, 127] in one dot, header
 * −64·Σ_k b. Outside that precondition the packer throws, so a silent wrong
 * result is impossible.
 *
 * `relaxed8` takes any int8 A: u = a + 128 ∈ [0, 255] in one dot, header
 * −128·Σ_k b. Only vpdpbusd computes that exactly (pmaddubsw's pair sums reach
 * 2·255·128 and saturate; sdot reads u ≥ 128 as negative), so `features.ts`
 * selects it only after a probe module shows this engine's dot is unsigned ×
 * signed without saturation; elsewhere `relaxed` runs.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import type { InnerStep } from "./inner_step.ts";

/** `dot16`: A pair (i16, i16) splat × B 4 columns × 2 k as i16; acc += dot. */
export const dot16Step: InnerStep = (f, { acc, bv, aPtr, aOffset, splat }) => {
  acc.forEach((row, r) => {
    f.emit("local.get", aPtr).emit("v128.load32_splat", {
      offset: aOffset + r * 4,
    })
      .emit("local.set", splat);
    row.forEach((a, g) => {
      f.emit("local.get", a).emit("local.get", splat).emit("local.get", bv[g])
        .emit("i32x4.dot_i16x8_s").emit("i32x4.add").emit("local.set", a);
    });
  });
};

function relaxedDots(
  f: FunctionEmitter,
  row: Local[],
  bv: Local[],
  splat: Local,
): void {
  row.forEach((a, g) => {
    f.emit("local.get", bv[g]).emit("local.get", splat).emit("local.get", a)
      .emit("i32x4.relaxed_dot_i8x16_i7x16_add_s").emit("local.set", a);
  });
}

/** `relaxed`: for each row, the lo and hi 7-bit halves of A+127, two dots each. */
export const relaxedStep: InnerStep = (
  f,
  { acc, bv, aPtr, aOffset, splat },
) => {
  acc.forEach((row, r) => {
    for (const half of [0, 4]) {
      f.emit("local.get", aPtr)
        .emit("v128.load32_splat", { offset: aOffset + r * 8 + half })
        .emit("local.set", splat);
      relaxedDots(f, row, bv, splat);
    }
  });
};

/**
 * `relaxed7` and `relaxed8`: the offset A (A+64 in 7 bits, A+128 in 8) splat,
 * one dot per accumulator.
 */
export const oneDotStep: InnerStep = (
  f,
  { acc, bv, aPtr, aOffset, splat },
) => {
  acc.forEach((row, r) => {
    f.emit("local.get", aPtr).emit("v128.load32_splat", {
      offset: aOffset + r * 4,
    })
      .emit("local.set", splat);
    relaxedDots(f, row, bv, splat);
  });
};
