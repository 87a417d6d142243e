/**
 * The two element passes around the int8 GEMM of a post-training integer
 * linear (`QuantizedMatMul`, `src/ops/quantized_matmul.ts`):
 *
 * - `quantise_codes(x, codes, n, scale, half, qmax)`: codes[e] =
 *   clamp(⌊f32(f32(x[e]/scale) + half)⌋, 0, qmax) − 128 as int8, 16
 *   elements per step (the f32 division, addition and floor are exact IEEE
 *   operations, so the codes are the reference's), then one element at a
 *   time through the same vector code.
 * - `dequantise_columns(acc, y, shift, factor, m, n)`: from the transposed
 *   i32 product accᵀ [n, m], y[i, j] = f32((acc[j, i] + shift[j])·factor[j])
 *   in f64 — the reference's order — in blocks of 16 columns, so the reads
 *   stream 16 rows of acc and the writes fill whole cache lines of y. The
 *   `dequantise_columns_bias` variant takes a seventh pointer, `bias`, and
 *   adds bias[j] to each f32 result in f32 (a fused bias Add).
 *
 * Pointers are byte addresses: x, y, bias f32; codes int8; acc i32; shift
 * and factor f64 (8-byte aligned).
 *
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  countedLoop,
  type F32Module,
  type GenerateOptions,
  i32x4Const,
  temp,
} from "../f32/emit.ts";

/** `quantise_codes(x, codes, n, scale, half, qmax)`. */
export type QuantiseCodes = (
  x: number,
  codes: number,
  n: number,
  scale: number,
  half: number,
  qmax: number,
) => void;

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

/** Columns one block of `dequantise_columns` covers. */
export const COLUMN_BLOCK = 16;

/** The centre the codes are shifted by, as in the operator. */
const CENTRE = 128;

/** Pushes the i32x4 centred codes of the four f32 at `address + offset`. */
function codesOf4(
  f: FunctionEmitter,
  load: () => void,
  v: { scale: Local; half: Local; qmax: Local },
): void {
  load();
  f.emit("local.get", v.scale).emit("f32x4.div")
    .emit("local.get", v.half).emit("f32x4.add")
    .emit("f32x4.floor").emit("i32x4.trunc_sat_f32x4_s");
  i32x4Const(f, 0);
  f.emit("i32x4.max_s").emit("local.get", v.qmax).emit("i32x4.min_s");
  i32x4Const(f, CENTRE);
  f.emit("i32x4.sub");
}

/** Generates `quantise_codes`. */
export function generateQuantiseCodes(
  options: GenerateOptions = {},
): F32Module<QuantiseCodes> {
  return buildKernel<QuantiseCodes>(
    "quantise_codes",
    [
      ["x", "i32"],
      ["codes", "i32"],
      ["n", "i32"],
      ["scale", "f32"],
      ["half", "f32"],
      ["qmax", "i32"],
    ],
    [],
    options,
    (f) => {
      const [x, codes, n] = ["x", "codes", "n"].map((p) => f.param(p));
      const v = {
        scale: temp(f, "v128", "scale"),
        half: temp(f, "v128", "half"),
        qmax: temp(f, "v128", "qmax"),
      };
      for (
        const [local, param, splat] of [
          [v.scale, "scale", "f32x4.splat"],
          [v.half, "half", "f32x4.splat"],
          [v.qmax, "qmax", "i32x4.splat"],
        ] as const
      ) {
        f.emit("local.get", f.param(param)).emit(splat).emit(
          "local.set",
          local,
        );
      }
      const e = temp(f, "i32", "e");
      const parts = [0, 1, 2, 3].map((g) => temp(f, "v128", `part${g}`));
      const address = (base: Local, bytesPer: number) => {
        f.emit("local.get", base).emit("local.get", e);
        if (bytesPer > 1) f.emit("i32.const", 2).emit("i32.shl");
        f.emit("i32.add");
      };
      f.emit("i32.const", 0).emit("local.set", e);
      f.block((exit) => {
        f.loop((next) => {
          f.emit("local.get", e).emit("i32.const", 16).emit("i32.add")
            .emit("local.get", n).emit("i32.gt_u").emit("br_if", exit);
          parts.forEach((part, g) => {
            codesOf4(f, () => {
              address(x, 4);
              f.emit("v128.load", { offset: 16 * g, align: 2 });
            }, v);
            f.emit("local.set", part);
          });
          address(codes, 1);
          f.emit("local.get", parts[0]).emit("local.get", parts[1])
            .emit("i16x8.narrow_i32x4_s")
            .emit("local.get", parts[2]).emit("local.get", parts[3])
            .emit("i16x8.narrow_i32x4_s")
            .emit("i8x16.narrow_i16x8_s")
            .emit("v128.store", { align: 0 });
          f.emit("local.get", e).emit("i32.const", 16).emit("i32.add")
            .emit("local.set", e).emit("br", next);
        });
      });
      f.block((exit) => {
        f.loop((next) => {
          f.emit("local.get", e).emit("local.get", n).emit("i32.ge_u")
            .emit("br_if", exit);
          address(codes, 1);
          codesOf4(f, () => {
            address(x, 4);
            f.emit("v128.load32_splat");
          }, v);
          f.emit("i32x4.extract_lane", 0).emit("i32.store8");
          f.emit("local.get", e).emit("i32.const", 1).emit("i32.add")
            .emit("local.set", e).emit("br", next);
        });
      });
    },
  );
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
      const [acc, y, shift, factor, m, n] = [
        "acc",
        "y",
        "shift",
        "factor",
        "m",
        "n",
      ].map((p) => f.param(p));
      const [block, end, width, i, j] = ["block", "end", "width", "i", "j"]
        .map((name) => temp(f, "i32", name));
      const get = (l: Local) => f.emit("local.get", l);
      countedLoop(f, block, n, COLUMN_BLOCK, () => {
        // width = min(16, n − block)
        f.emit("i32.const", COLUMN_BLOCK);
        get(n);
        get(block);
        f.emit("i32.sub");
        f.emit("i32.const", COLUMN_BLOCK);
        get(n);
        get(block);
        f.emit("i32.sub").emit("i32.lt_u").emit("select")
          .emit("local.set", width);
        get(block);
        get(width);
        f.emit("i32.add").emit("local.set", end);
        countedLoop(f, i, m, 1, () => {
          get(block).emit("local.set", j);
          f.block((exit) => {
            f.loop((next) => {
              get(j);
              get(end);
              f.emit("i32.ge_u").emit("br_if", exit);
              // &y[i·n + j]
              get(y);
              get(i);
              get(n);
              f.emit("i32.mul");
              get(j);
              f.emit("i32.add").emit("i32.const", 2).emit("i32.shl")
                .emit("i32.add");
              // acc[j·m + i]
              get(acc);
              get(j);
              get(m);
              f.emit("i32.mul");
              get(i);
              f.emit("i32.add").emit("i32.const", 2).emit("i32.shl")
                .emit("i32.add").emit("i32.load").emit("f64.convert_i32_s");
              get(shift);
              get(j);
              f.emit("i32.const", 3).emit("i32.shl").emit("i32.add")
                .emit("f64.load").emit("f64.add");
              get(factor);
              get(j);
              f.emit("i32.const", 3).emit("i32.shl").emit("i32.add")
                .emit("f64.load").emit("f64.mul").emit("f32.demote_f64");
              if (bias) {
                get(f.param("bias"));
                get(j);
                f.emit("i32.const", 2).emit("i32.shl").emit("i32.add")
                  .emit("f32.load").emit("f32.add");
              }
              f.emit("f32.store");
              get(j);
              f.emit("i32.const", 1).emit("i32.add").emit("local.set", j)
                .emit("br", next);
            });
          });
        });
      });
    },
  );
}
