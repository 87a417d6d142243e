/**
 * Training dropout on four lanes, with the counter hash of
 * `src/ops/dropout_train.ts` (`dropoutHashOf`):
 * - `dropout_fwd(x, y, mask, n, first, key, threshold, keptScale: f64)`:
 *   element i is element k = first + i of the tensor; h = fmix32(key ^
 *   k·0x9e3779b9 ^ 0x7f4a7c15) and it is kept iff h ≥ threshold (unsigned;
 *   the caller passes ⌈ratio·2³²⌉); y = x / keptScale where kept, else +0,
 *   and the mask byte is 1 where kept, else 0.
 * - `dropout_bwd(dy, mask, dx, n, scale: f64)`: dx = dy·scale where the mask
 *   byte is nonzero, else +0.
 *
 * The scalings run in f64 and round once to f32, as the TypeScript kernels'
 * doubles do, so both write the same bits. `first` lets a call cover any
 * range of the tensor, which is how the engine splits it between threads.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  type F32Module,
  type GenerateOptions,
  i32x4Const,
  laneLoop,
  lanes,
  load,
  store,
  temp,
} from "./emit.ts";

/** Signature of `dropout_fwd`. */
export type DropoutFwd = (
  x: number,
  y: number,
  mask: number,
  n: number,
  first: number,
  key: number,
  threshold: number,
  keptScale: number,
) => void;

/** Signature of `dropout_bwd`. */
export type DropoutBwd = (
  dy: number,
  mask: number,
  dx: number,
  n: number,
  scale: number,
) => void;

/** Replaces the f32 lanes of `v` by f32(v · factor) or f32(v / factor), computed in f64. */
function scaleInF64(
  f: FunctionEmitter,
  v: Local,
  factor: Local,
  op: "f64x2.mul" | "f64x2.div",
): void {
  const half = (shuffle: boolean) => {
    f.emit("local.get", v);
    if (shuffle) {
      f.emit("local.get", v).emit("i8x16.shuffle", lanes(2, 3, 2, 3));
    }
    f.emit("f64x2.promote_low_f32x4").emit("local.get", factor)
      .emit("f64x2.splat").emit(op).emit("f32x4.demote_f64x2_zero");
  };
  half(false);
  half(true);
  f.emit("i8x16.shuffle", lanes(0, 1, 4, 5)).emit("local.set", v);
}

/** Pushes fmix32(key ^ k·0x9e3779b9 ^ 0x7f4a7c15) for lanes k = first + off/4 + lane. */
function emitHash(
  f: FunctionEmitter,
  off: Local,
  h: Local,
): void {
  f.emit("local.get", f.param("first")).emit("local.get", off)
    .emit("i32.const", 2).emit("i32.shr_u").emit("i32.add")
    .emit("i32x4.splat");
  f.emit("v128.const", new Uint8Array(Int32Array.of(0, 1, 2, 3).buffer))
    .emit("i32x4.add");
  i32x4Const(f, 0x9e3779b9 | 0);
  f.emit("i32x4.mul").emit("local.get", f.param("key")).emit("i32x4.splat")
    .emit("v128.xor");
  i32x4Const(f, 0x7f4a7c15);
  f.emit("v128.xor").emit("local.set", h);
  const shiftXor = (bits: number) =>
    f.emit("local.get", h).emit("local.get", h).emit("i32.const", bits)
      .emit("i32x4.shr_u").emit("v128.xor").emit("local.set", h);
  const multiply = (c: number) => {
    f.emit("local.get", h);
    i32x4Const(f, c | 0);
    f.emit("i32x4.mul").emit("local.set", h);
  };
  shiftXor(16);
  multiply(0x85ebca6b);
  shiftXor(13);
  multiply(0xc2b2ae35);
  shiftXor(16);
  f.emit("local.get", h);
}

/** Generates `dropout_fwd`. */
export function generateDropoutFwd(
  options: GenerateOptions = {},
): F32Module<DropoutFwd> {
  return buildKernel<DropoutFwd>(
    "dropout_fwd",
    [
      ["x", "i32"],
      ["y", "i32"],
      ["mask", "i32"],
      ["n", "i32"],
      ["first", "i32"],
      ["key", "i32"],
      ["threshold", "i32"],
      ["keptScale", "f64"],
    ],
    [],
    options,
    (f) => {
      const [x, y, mask] = ["x", "y", "mask"].map((n) => f.param(n));
      const off = temp(f, "i32", "off"), bytes = temp(f, "i32", "bytes");
      const h = temp(f, "v128", "h"), keep = temp(f, "v128", "keep");
      const v = temp(f, "v128", "v");
      f.emit("local.get", f.param("n")).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", bytes);
      laneLoop(f, off, bytes, (lanes) => {
        emitHash(f, off, h);
        f.emit("local.get", f.param("threshold")).emit("i32x4.splat")
          .emit("i32x4.ge_u").emit("local.set", keep);
        load(f, lanes, x, off);
        f.emit("local.set", v);
        scaleInF64(f, v, f.param("keptScale"), "f64x2.div");
        store(f, lanes, y, off, () => {
          f.emit("local.get", v).emit("local.get", keep).emit("v128.and");
        });
        // Mask bytes: 1 per kept lane, narrowed from the i32 lanes.
        f.emit("local.get", mask).emit("local.get", off).emit("i32.const", 2)
          .emit("i32.shr_u").emit("i32.add");
        f.emit("local.get", keep);
        i32x4Const(f, 1);
        f.emit("v128.and");
        if (lanes === 4) {
          f.emit("local.tee", v).emit("local.get", v)
            .emit("i16x8.narrow_i32x4_s").emit("local.tee", v)
            .emit("local.get", v).emit("i8x16.narrow_i16x8_s")
            .emit("i32x4.extract_lane", 0).emit("i32.store", { align: 0 });
        } else {
          f.emit("i32x4.extract_lane", 0).emit("i32.store8");
        }
      });
    },
  );
}

/** Generates `dropout_bwd`. */
export function generateDropoutBwd(
  options: GenerateOptions = {},
): F32Module<DropoutBwd> {
  return buildKernel<DropoutBwd>(
    "dropout_bwd",
    [
      ["dy", "i32"],
      ["mask", "i32"],
      ["dx", "i32"],
      ["n", "i32"],
      ["scale", "f64"],
    ],
    [],
    options,
    (f) => {
      const [dy, mask, dx] = ["dy", "mask", "dx"].map((n) => f.param(n));
      const off = temp(f, "i32", "off"), bytes = temp(f, "i32", "bytes");
      const dropped = temp(f, "v128", "dropped"), v = temp(f, "v128", "v");
      f.emit("local.get", f.param("n")).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", bytes);
      laneLoop(f, off, bytes, (lanes) => {
        f.emit("local.get", mask).emit("local.get", off).emit("i32.const", 2)
          .emit("i32.shr_u").emit("i32.add");
        if (lanes === 4) {
          f.emit("v128.load32_zero", { align: 0 })
            .emit("i16x8.extend_low_i8x16_u").emit("i32x4.extend_low_i16x8_u");
        } else {
          f.emit("i32.load8_u").emit("i32x4.splat");
        }
        f.emit("v128.const", new Uint8Array(16)).emit("i32x4.eq")
          .emit("local.set", dropped);
        load(f, lanes, dy, off);
        f.emit("local.set", v);
        scaleInF64(f, v, f.param("scale"), "f64x2.mul");
        store(f, lanes, dx, off, () => {
          f.emit("local.get", v).emit("local.get", dropped)
            .emit("v128.andnot");
        });
      });
    },
  );
}
