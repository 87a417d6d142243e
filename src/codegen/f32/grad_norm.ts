/**
 * The two passes of global-norm gradient clipping (torch's
 * `clip_grad_norm_`), for gradients too large for a scalar loop to be cheap:
 *
 * - `sum_squares(x, blocks, out)`: for each block of {@linkcode NORM_BLOCK}
 *   f32 values, the f64 sum of their squares to `out[b]` (f64). Squares of
 *   f32 values are exact in f64; the sum runs in four f64 lanes (element i
 *   into lane i mod 4), combined as (l0 + l2) + (l1 + l3) — a fixed order,
 *   so a block's partial does not depend on which thread computed it, and
 *   the caller adds the partials in block order.
 * - `grad_scale(x, y, n, s)`: y = x·s in f32, the clipped gradients.
 *
 * @module
 */

import {
  buildKernel,
  countedLoop,
  type F32Module,
  type GenerateOptions,
  laneLoop,
  load,
  store,
  temp,
} from "./emit.ts";

/** Elements of one partial sum of squares. */
export const NORM_BLOCK = 4096;

/** Signature of `sum_squares`. */
export type SumSquares = (x: number, blocks: number, out: number) => void;
/** Signature of `grad_scale`. */
export type GradScale = (x: number, y: number, n: number, s: number) => void;

/** Generates `sum_squares`. */
export function generateSumSquares(
  options: GenerateOptions = {},
): F32Module<SumSquares> {
  return buildKernel<SumSquares>(
    "sum_squares",
    [["x", "i32"], ["blocks", "i32"], ["out", "i32"]],
    [],
    options,
    (f) => {
      const [x, out] = [f.param("x"), f.param("out")];
      const b = temp(f, "i32", "b"), i = temp(f, "i32", "i");
      const lo = temp(f, "v128", "lo"), hi = temp(f, "v128", "hi");
      const v = temp(f, "v128", "v");
      countedLoop(f, b, f.param("blocks"), 1, () => {
        f.emit("v128.const", new Uint8Array(16)).emit("local.tee", lo)
          .emit("local.set", hi);
        countedLoop(f, i, 4 * NORM_BLOCK, 16, () => {
          // Lanes 0–1 of four floats into `lo`, lanes 2–3 into `hi`.
          for (const [offset, acc] of [[0, lo], [8, hi]] as const) {
            f.emit("local.get", x).emit("local.get", i).emit("i32.add")
              .emit("v128.load64_zero", { offset })
              .emit("f64x2.promote_low_f32x4").emit("local.tee", v)
              .emit("local.get", v).emit("f64x2.mul")
              .emit("local.get", acc).emit("f64x2.add").emit("local.set", acc);
          }
        });
        f.emit("local.get", out);
        f.emit("local.get", lo).emit("local.get", hi).emit("f64x2.add")
          .emit("local.tee", v).emit("f64x2.extract_lane", 0)
          .emit("local.get", v).emit("f64x2.extract_lane", 1).emit("f64.add")
          .emit("f64.store");
        f.emit("local.get", x).emit("i32.const", 4 * NORM_BLOCK)
          .emit("i32.add").emit("local.set", x);
        f.emit("local.get", out).emit("i32.const", 8).emit("i32.add")
          .emit("local.set", out);
      });
    },
  );
}

/** Generates `grad_scale`. */
export function generateGradScale(
  options: GenerateOptions = {},
): F32Module<GradScale> {
  return buildKernel<GradScale>(
    "grad_scale",
    [["x", "i32"], ["y", "i32"], ["n", "i32"], ["s", "f32"]],
    [],
    options,
    (f) => {
      const [x, y] = [f.param("x"), f.param("y")];
      const off = temp(f, "i32", "off"), bytes = temp(f, "i32", "bytes");
      const s = temp(f, "v128", "s");
      f.emit("local.get", f.param("s")).emit("f32x4.splat").emit(
        "local.set",
        s,
      );
      f.emit("local.get", f.param("n")).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", bytes);
      laneLoop(f, off, bytes, (lanes) => {
        store(f, lanes, y, off, () => {
          load(f, lanes, x, off);
          f.emit("local.get", s).emit("f32x4.mul");
        });
      });
    },
  );
}
