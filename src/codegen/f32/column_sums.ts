/**
 * Column sums, the ReduceSum over leading axes behind every bias gradient:
 * `column_sums(x, y, cols, rows, stride)` writes y[c] = f32(Σ_r x[r·stride
 * + c]) for c < cols, each sum in f64 from +0 in row order — the additions
 * of the engine's TypeScript reduction, so the same bits. Columns go 16 at
 * a time (eight f64x2 accumulators, each loading its two columns as a half
 * vector: every cache line of a row read once),
 * then 4, then 1; a column's sum never depends on its neighbours, so the
 * engine splits a call between its threads by columns.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  countedLoop,
  type F32Module,
  type GenerateOptions,
  lanes,
  temp,
} from "./emit.ts";

/** Signature: `(x, y, cols, rows, stride)`, byte addresses, counts in elements. */
export type ColumnSums = (
  x: number,
  y: number,
  cols: number,
  rows: number,
  stride: number,
) => void;

/** Generates `column_sums`. */
export function generateColumnSums(
  options: GenerateOptions = {},
): F32Module<ColumnSums> {
  return buildKernel<ColumnSums>(
    "column_sums",
    [
      ["x", "i32"],
      ["y", "i32"],
      ["cols", "i32"],
      ["rows", "i32"],
      ["stride", "i32"],
    ],
    [],
    options,
    (f) => {
      const c = temp(f, "i32", "c");
      f.emit("i32.const", 0).emit("local.set", c);
      for (const width of [16, 4, 1] as const) emitStrips(f, c, width);
    },
  );
}

/** Sums strips of `width` columns from column `c` on while a whole strip fits. */
function emitStrips(f: FunctionEmitter, c: Local, width: 16 | 4 | 1): void {
  const [x, y, cols, rows, stride] = ["x", "y", "cols", "rows", "stride"]
    .map((n) => f.param(n));
  const vectors = Math.ceil(width / 4);
  const acc = Array.from(
    { length: width === 1 ? 1 : 2 * vectors },
    () => temp(f, "v128", "acc"),
  );
  const r = temp(f, "i32", "r"), p = temp(f, "i32", "p");
  f.block((exit) => {
    f.loop((next) => {
      f.emit("local.get", c).emit("i32.const", width).emit("i32.add")
        .emit("local.get", cols).emit("i32.gt_u").emit("br_if", exit);
      for (const a of acc) {
        f.emit("v128.const", new Uint8Array(16)).emit("local.set", a);
      }
      f.emit("local.get", x).emit("local.get", c).emit("i32.const", 2)
        .emit("i32.shl").emit("i32.add").emit("local.set", p);
      countedLoop(f, r, rows, 1, () => {
        // Two columns per f64x2 accumulator, loaded as a half vector each.
        acc.forEach((a, h) => {
          f.emit("local.get", a).emit("local.get", p);
          if (width === 1) f.emit("v128.load32_zero", { align: 2 });
          else f.emit("v128.load64_zero", { offset: 8 * h, align: 2 });
          f.emit("f64x2.promote_low_f32x4").emit("f64x2.add")
            .emit("local.set", a);
        });
        f.emit("local.get", p).emit("local.get", stride).emit("i32.const", 2)
          .emit("i32.shl").emit("i32.add").emit("local.set", p);
      });
      f.emit("local.get", y).emit("local.get", c).emit("i32.const", 2)
        .emit("i32.shl").emit("i32.add");
      if (width === 1) {
        f.emit("local.get", acc[0]).emit("f32x4.demote_f64x2_zero")
          .emit("f32x4.extract_lane", 0).emit("f32.store");
      } else {
        f.emit("local.set", p);
        for (let g = 0; g < vectors; g++) {
          f.emit("local.get", p)
            .emit("local.get", acc[2 * g]).emit("f32x4.demote_f64x2_zero")
            .emit("local.get", acc[2 * g + 1]).emit("f32x4.demote_f64x2_zero")
            .emit("i8x16.shuffle", lanes(0, 1, 4, 5))
            .emit("v128.store", { offset: 16 * g, align: 2 });
        }
      }
      f.emit("local.get", c).emit("i32.const", width).emit("i32.add")
        .emit("local.set", c).emit("br", next);
    });
  });
}
