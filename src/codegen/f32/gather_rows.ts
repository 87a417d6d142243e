/**
 * Row gather, the copy behind Transposes that keep the last axis (BERT's
 * head split `[B,S,N,H] → [B,N,S,H]` and back):
 * `gather_rows(src, dst, table, rows, rowBytes)` copies, for each output
 * row r, the `rowBytes` bytes at `src + table[r]` to `dst + r·rowBytes`
 * (`table` holds i32 byte offsets). Vectors of 16 bytes while a whole one
 * fits, then single bytes, so any element size and row length works; rows
 * are independent, so the engine splits a call between its threads by rows.
 * @module
 */

import {
  buildKernel,
  countedLoop,
  type F32Module,
  type GenerateOptions,
  temp,
} from "./emit.ts";

/** Signature: `(src, dst, table, rows, rowBytes)`, byte addresses and counts. */
export type GatherRows = (
  src: number,
  dst: number,
  table: number,
  rows: number,
  rowBytes: number,
) => void;

/** Generates `gather_rows`. */
export function generateGatherRows(
  options: GenerateOptions = {},
): F32Module<GatherRows> {
  return buildKernel<GatherRows>(
    "gather_rows",
    [
      ["src", "i32"],
      ["dst", "i32"],
      ["table", "i32"],
      ["rows", "i32"],
      ["rowBytes", "i32"],
    ],
    [],
    options,
    (f) => {
      const [src, dst, table, rows, rowBytes] = [
        "src",
        "dst",
        "table",
        "rows",
        "rowBytes",
      ].map((n) => f.param(n));
      const r = temp(f, "i32", "r"), from = temp(f, "i32", "from");
      const off = temp(f, "i32", "off");
      countedLoop(f, r, rows, 1, () => {
        f.emit("local.get", src).emit("local.get", table)
          .emit("local.get", r).emit("i32.const", 2).emit("i32.shl")
          .emit("i32.add").emit("i32.load").emit("i32.add")
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
