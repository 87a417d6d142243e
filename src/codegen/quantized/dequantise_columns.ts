/**
 * The pass after the int8 GEMM of a post-training integer linear
 * (`QuantizedMatMul`): from the transposed i32 product accᵀ [n, m],
 * `dequantise_columns(acc, y, shift, factor, m, n)` writes
 * y[i, j] = f32((acc[j, i] + shift[j])·factor[j]), the sum and product in
 * f64 — the reference's order and rounding. The `dequantise_columns_bias`
 * variant takes a seventh pointer, `bias`, and adds bias[j] to each f32
 * result in f32 (a fused bias Add).
 *
 * Blocks of 4 rows × 4 columns run in SIMD: per column, the four i32 of
 * rows i..i+3 are contiguous in accᵀ, so two 64-bit loads give two f64x2
 * halves; the four f32x4 columns are then transposed with shuffles and
 * stored as four row pieces of y. Rows and columns beyond the last whole
 * block run one element at a time, with the same f64 operations.
 *
 * Pointers are byte addresses: y and bias f32, acc i32, shift and factor
 * f64 (8-byte aligned).
 *
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
} from "../f32/emit.ts";

/** `dequantise_columns(acc, y, shift, factor, m, n[, bias])`. */
export type DequantiseColumns = (
  acc: number,
  y: number,
  shift: number,
  factor: number,
  m: number,
  n: number,
  bias?: number,
) => void;

/** Rows per tile of the SIMD blocks (a multiple of 4). */
const ROW_TILE = 64;

/** What both code paths read. */
interface Params {
  readonly acc: Local;
  readonly y: Local;
  readonly shift: Local;
  readonly factor: Local;
  readonly m: Local;
  readonly n: Local;
  readonly bias?: Local;
}

/** Pushes `base + index·scale` for i32 locals. */
function address(
  f: FunctionEmitter,
  base: Local,
  index: () => void,
  shift: number,
): void {
  f.emit("local.get", base);
  index();
  f.emit("i32.const", shift).emit("i32.shl").emit("i32.add");
}

/** One element at a time over rows [i0, m) × columns [j0, j1). */
function scalarRegion(
  f: FunctionEmitter,
  p: Params,
  rows: { from: Local | number },
  cols: { from: Local | number; to: Local },
): void {
  const i = temp(f, "i32", "i");
  const j = temp(f, "i32", "j");
  const push = (v: Local | number) =>
    typeof v === "number" ? f.emit("i32.const", v) : f.emit("local.get", v);
  push(rows.from);
  f.emit("local.set", i);
  f.block((rowsDone) => {
    f.loop((nextRow) => {
      f.emit("local.get", i).emit("local.get", p.m).emit("i32.ge_u")
        .emit("br_if", rowsDone);
      push(cols.from);
      f.emit("local.set", j);
      f.block((colsDone) => {
        f.loop((nextCol) => {
          f.emit("local.get", j).emit("local.get", cols.to).emit("i32.ge_u")
            .emit("br_if", colsDone);
          address(f, p.y, () => {
            f.emit("local.get", i).emit("local.get", p.n).emit("i32.mul")
              .emit("local.get", j).emit("i32.add");
          }, 2);
          address(f, p.acc, () => {
            f.emit("local.get", j).emit("local.get", p.m).emit("i32.mul")
              .emit("local.get", i).emit("i32.add");
          }, 2);
          f.emit("i32.load").emit("f64.convert_i32_s");
          address(f, p.shift, () => f.emit("local.get", j), 3);
          f.emit("f64.load").emit("f64.add");
          address(f, p.factor, () => f.emit("local.get", j), 3);
          f.emit("f64.load").emit("f64.mul").emit("f32.demote_f64");
          if (p.bias !== undefined) {
            address(f, p.bias, () => f.emit("local.get", j), 2);
            f.emit("f32.load").emit("f32.add");
          }
          f.emit("f32.store");
          f.emit("local.get", j).emit("i32.const", 1).emit("i32.add")
            .emit("local.set", j).emit("br", nextCol);
        });
      });
      f.emit("local.get", i).emit("i32.const", 1).emit("i32.add")
        .emit("local.set", i).emit("br", nextRow);
    });
  });
}

/** Rows [0, m4) × columns [0, n4) in 4×4 SIMD blocks. */
function vectorBlocks(
  f: FunctionEmitter,
  p: Params,
  m4: Local,
  n4: Local,
): void {
  const i = temp(f, "i32", "bi");
  const j = temp(f, "i32", "bj");
  const at = temp(f, "i32", "at");
  const column = [0, 1, 2, 3].map((c) => ({
    shift: temp(f, "v128", `shift${c}`),
    factor: temp(f, "v128", `factor${c}`),
    bias: p.bias === undefined ? undefined : temp(f, "v128", `bias${c}`),
    value: temp(f, "v128", `col${c}`),
  }));
  const [lo, hi] = [temp(f, "v128", "lo"), temp(f, "v128", "hi")];
  const t = [0, 1, 2, 3].map((k) => temp(f, "v128", `t${k}`));
  const tile = temp(f, "i32", "tile");
  const tileEnd = temp(f, "i32", "tileEnd");
  const columnBlocks = () => {
    countedLoop(f, j, n4, 4, () => {
      column.forEach((c, k) => {
        for (
          const [base, local] of [
            [p.shift, c.shift],
            [p.factor, c.factor],
          ] as const
        ) {
          address(f, base, () => {
            f.emit("local.get", j).emit("i32.const", k).emit("i32.add");
          }, 3);
          f.emit("f64.load").emit("f64x2.splat").emit("local.set", local);
        }
        if (c.bias !== undefined && p.bias !== undefined) {
          address(f, p.bias, () => {
            f.emit("local.get", j).emit("i32.const", k).emit("i32.add");
          }, 2);
          f.emit("f32.load").emit("f32x4.splat").emit("local.set", c.bias);
        }
      });
      f.emit("local.get", tile).emit("local.set", i);
      f.block((rowsDone) => {
        f.loop((nextRows) => {
          f.emit("local.get", i).emit("local.get", tileEnd).emit("i32.ge_u")
            .emit("br_if", rowsDone);
          column.forEach((c, k) => {
            // &acc[(j + k)·m + i]: rows i..i+3 of column j + k.
            address(f, p.acc, () => {
              f.emit("local.get", j).emit("i32.const", k).emit("i32.add")
                .emit("local.get", p.m).emit("i32.mul")
                .emit("local.get", i).emit("i32.add");
            }, 2);
            f.emit("local.set", at);
            for (const [half, offset] of [[lo, 0], [hi, 8]] as const) {
              f.emit("local.get", at).emit("v128.load64_zero", { offset })
                .emit("f64x2.convert_low_i32x4_s")
                .emit("local.get", c.shift).emit("f64x2.add")
                .emit("local.get", c.factor).emit("f64x2.mul")
                .emit("f32x4.demote_f64x2_zero").emit("local.set", half);
            }
            f.emit("local.get", lo).emit("local.get", hi)
              .emit("i8x16.shuffle", lanes(0, 1, 4, 5));
            if (c.bias !== undefined) {
              f.emit("local.get", c.bias).emit("f32x4.add");
            }
            f.emit("local.set", c.value);
          });
          // 4×4 transpose: t0 = (c0[0], c1[0], c0[1], c1[1]), … then rows.
          const [c0, c1, c2, c3] = column.map((c) => c.value);
          for (
            const [dst, a, b, picked] of [
              [t[0], c0, c1, [0, 4, 1, 5]],
              [t[1], c0, c1, [2, 6, 3, 7]],
              [t[2], c2, c3, [0, 4, 1, 5]],
              [t[3], c2, c3, [2, 6, 3, 7]],
            ] as const
          ) {
            f.emit("local.get", a).emit("local.get", b)
              .emit("i8x16.shuffle", lanes(...picked)).emit("local.set", dst);
          }
          for (
            const [r, a, b, picked] of [
              [0, t[0], t[2], [0, 1, 4, 5]],
              [1, t[0], t[2], [2, 3, 6, 7]],
              [2, t[1], t[3], [0, 1, 4, 5]],
              [3, t[1], t[3], [2, 3, 6, 7]],
            ] as const
          ) {
            address(f, p.y, () => {
              f.emit("local.get", i).emit("i32.const", r).emit("i32.add")
                .emit("local.get", p.n).emit("i32.mul")
                .emit("local.get", j).emit("i32.add");
            }, 2);
            f.emit("local.get", a).emit("local.get", b)
              .emit("i8x16.shuffle", lanes(...picked))
              .emit("v128.store", { align: 2 });
          }
          f.emit("local.get", i).emit("i32.const", 4).emit("i32.add")
            .emit("local.set", i).emit("br", nextRows);
        });
      });
    });
  };
  // Row tiles, so one sweep over the columns touches ROW_TILE rows of y and
  // of each accᵀ column: a transpose with both sides strided would visit a
  // new page per row.
  countedLoop(f, tile, m4, ROW_TILE, () => {
    f.emit("local.get", tile).emit("i32.const", ROW_TILE).emit("i32.add")
      .emit("local.get", m4)
      .emit("local.get", tile).emit("i32.const", ROW_TILE).emit("i32.add")
      .emit("local.get", m4).emit("i32.lt_u").emit("select")
      .emit("local.set", tileEnd);
    columnBlocks();
  });
}

/** Generates `dequantise_columns`, or with `bias` its fused-bias variant. */
export function generateDequantiseColumns(
  bias: boolean,
  options: GenerateOptions = {},
): F32Module<DequantiseColumns> {
  return buildKernel<DequantiseColumns>(
    bias ? "dequantise_columns_bias" : "dequantise_columns",
    [
      ["acc", "i32"],
      ["y", "i32"],
      ["shift", "i32"],
      ["factor", "i32"],
      ["m", "i32"],
      ["n", "i32"],
      ...(bias ? [["bias", "i32"] as const] : []),
    ],
    [],
    options,
    (f) => {
      const p: Params = {
        acc: f.param("acc"),
        y: f.param("y"),
        shift: f.param("shift"),
        factor: f.param("factor"),
        m: f.param("m"),
        n: f.param("n"),
        bias: bias ? f.param("bias") : undefined,
      };
      const [m4, n4] = [temp(f, "i32", "m4"), temp(f, "i32", "n4")];
      for (const [dst, src] of [[m4, p.m], [n4, p.n]] as const) {
        f.emit("local.get", src).emit("i32.const", -4).emit("i32.and")
          .emit("local.set", dst);
      }
      vectorBlocks(f, p, m4, n4);
      // The columns past the last whole block, every row; then the rows
      // past the last whole block, the block columns.
      scalarRegion(f, p, { from: 0 }, { from: n4, to: p.n });
      scalarRegion(f, p, { from: m4 }, { from: 0, to: n4 });
    },
  );
}
