/**
 * The code pass in front of the int8 GEMM of a post-training integer linear
 * (`QuantizedMatMul`, `src/ops/quantized_matmul.ts`; the pass after it is
 * `dequantise_columns.ts`):
 *
 * `quantise_codes(x, codes, n, scale, half, qmax)`: codes[e] =
 * clamp(⌊f32(f32(x[e]/scale) + half)⌋, 0, qmax) − 128 as int8, 16 elements
 * per step (the f32 division, addition and floor are exact IEEE operations,
 * so the codes are the reference's), then one element at a time through the
 * same vector code.
 *
 * Pointers are byte addresses: x f32, codes int8.
 *
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
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
