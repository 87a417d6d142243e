/**
 * Row gather, the copy behind Transposes that keep the last axis (BERT's
 * head split `[B,S,N,H] → [B,N,S,H]` and back):
 * `gather_rows(src, dst, first, rows, rowBytes, d1, d2, s0, s1, s2)` copies
 * output rows first … first + rows − 1, each `rowBytes` bytes, to dst on.
 * Output row r has coordinates (i0, i1, i2) over lead dims (·, d1, d2) — r
 * = (i0·d1 + i1)·d2 + i2 — and is read at src + i0·s0 + i1·s1 + i2·s2
 * (strides in bytes). Vectors of 16 bytes while a whole one fits, then
 * single bytes, so any element size and row length works; rows are
 * independent, so the engine splits a call between its threads by rows.
 * @module
 */

import {
  buildKernel,
  countedLoop,
  type F32Module,
  type GenerateOptions,
  temp,
} from "./emit.ts";

/** Signature: `(src, dst, first, rows, rowBytes, d1, d2, s0, s1, s2)`. */
export type GatherRows = (
  src: number,
  dst: number,
  first: number,
  rows: number,
  rowBytes: number,
  d1: number,
  d2: number,
  s0: number,
  s1: number,
  s2: number,
) => void;

/** Parameter names of `gather_rows`, in order. */
const PARAMS = [
  "src",
  "dst",
  "first",
  "rows",
  "rowBytes",
  "d1",
  "d2",
  "s0",
  "s1",
  "s2",
] as const;

/** Generates `gather_rows`. */
export function generateGatherRows(
  options: GenerateOptions = {},
): F32Module<GatherRows> {
  return buildKernel<GatherRows>(
    "gather_rows",
    PARAMS.map((name) => [name, "i32"] as const),
    [],
    options,
    (f) => {
      const P = (name: (typeof PARAMS)[number]) => f.param(name);
      const i = temp(f, "i32", "i"), r = temp(f, "i32", "r");
      const from = temp(f, "i32", "from"), off = temp(f, "i32", "off");
      const dst = P("dst"), rowBytes = P("rowBytes");
      countedLoop(f, i, P("rows"), 1, () => {
        // from = src + (r % d2)·s2 + (r / d2 % d1)·s1 + (r / d2 / d1)·s0
        f.emit("local.get", P("first")).emit("local.get", i).emit("i32.add")
          .emit("local.set", r);
        f.emit("local.get", P("src"))
          .emit("local.get", r).emit("local.get", P("d2")).emit("i32.rem_u")
          .emit("local.get", P("s2")).emit("i32.mul").emit("i32.add")
          .emit("local.get", r).emit("local.get", P("d2")).emit("i32.div_u")
          .emit("local.tee", r).emit("local.get", P("d1")).emit("i32.rem_u")
          .emit("local.get", P("s1")).emit("i32.mul").emit("i32.add")
          .emit("local.get", r).emit("local.get", P("d1")).emit("i32.div_u")
          .emit("local.get", P("s0")).emit("i32.mul").emit("i32.add")
          .emit("local.set", from);
        f.emit("i32.const", 0).emit("local.set", off);
        for (
          const [width, load, put] of [
            [16, "v128.load", "v128.store"],
            [1, "i32.load8_u", "i32.store8"],
          ] as const
        ) {
          f.block((exit) => {
            f.loop((next) => {
              f.emit("local.get", off).emit("i32.const", width)
                .emit("i32.add").emit("local.get", rowBytes)
                .emit("i32.gt_u").emit("br_if", exit);
              f.emit("local.get", dst).emit("local.get", off).emit("i32.add")
                .emit("local.get", from).emit("local.get", off)
                .emit("i32.add").emit(load).emit(put);
              f.emit("local.get", off).emit("i32.const", width)
                .emit("i32.add").emit("local.set", off).emit("br", next);
            });
          });
        }
        f.emit("local.get", dst).emit("local.get", rowBytes).emit("i32.add")
          .emit("local.set", dst);
      });
    },
  );
}
