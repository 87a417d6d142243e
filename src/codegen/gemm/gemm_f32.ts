/**
 * The f32 GEMM family: inner-product steps for `madd` (`f32x4.relaxed_madd`,
 * fused on FMA hardware, so results may differ from unfused in the last bit)
 * and `muladd` (`f32x4.mul` + `f32x4.add`, deterministic, bit-identical to a
 * sequential scalar loop over k).
 * @module
 */

import type { InnerStep } from "./inner_step.ts";

/** `madd`: acc = relaxed_madd(a splat, b, acc). */
export const maddStep: InnerStep = (f, { acc, bv, aPtr, aOffset, splat }) => {
  acc.forEach((row, r) => {
    f.emit("local.get", aPtr).emit("v128.load32_splat", {
      offset: aOffset + r * 4,
    })
      .emit("local.set", splat);
    row.forEach((a, g) => {
      f.emit("local.get", splat).emit("local.get", bv[g]).emit("local.get", a)
        .emit("f32x4.relaxed_madd").emit("local.set", a);
    });
  });
};

/** `muladd`: acc = acc + a splat · b, two rounded operations. */
export const mulAddStep: InnerStep = (f, { acc, bv, aPtr, aOffset, splat }) => {
  acc.forEach((row, r) => {
    f.emit("local.get", aPtr).emit("v128.load32_splat", {
      offset: aOffset + r * 4,
    })
      .emit("local.set", splat);
    row.forEach((a, g) => {
      f.emit("local.get", a).emit("local.get", splat).emit("local.get", bv[g])
        .emit("f32x4.mul").emit("f32x4.add").emit("local.set", a);
    });
  });
};
