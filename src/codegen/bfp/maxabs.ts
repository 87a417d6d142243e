/**
 * Generator of the max-abs kernel `bfp_maxabs_<granularity>`: max|x| per
 * exponent group, the first pass of a map. `f32x4.abs`, then the maximum as
 * `i32x4.max_s` on the bit patterns: non-negative floats order like their
 * bits, and it is one instruction where V8's `f32x4.max` is a long NaN-aware
 * sequence (2.3× faster). A NaN (bits above +∞) still wins the maximum, so it
 * shows in its group's result and the host refuses to map it.
 *
 * Signature: `maxabs(x, rows, cols, out)`; out is f32[1 | rows | cols].
 * Tensor and row maxima keep four accumulators (16 elements a step) and
 * reduce them with shuffles; column maxima are updated in memory, 16 columns
 * a step, after the kernel zeroes them.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  emitAddTo,
  emitFlattenForTensor,
  emitWhileBelow,
  type Prologue,
} from "./emit.ts";
import type { BfpGranularity } from "./params.ts";

/** Parameters of the emitted max-abs function, in order. */
export const MAXABS_SIGNATURE = [
  ["x", "i32"],
  ["rows", "i32"],
  ["cols", "i32"],
  ["out", "i32"],
] as const;

const CHUNK = 16;

/** Lane shuffles that fold the upper half of a vector onto the lower half. */
const FOLD_8 = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const FOLD_4 = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];

/** Emits the body of the max-abs function for `granularity`. */
export function emitMaxAbs(
  f: FunctionEmitter,
  granularity: BfpGranularity,
  prologue?: Prologue,
): void {
  const [x, rows, cols, out] = MAXABS_SIGNATURE.map(([n]) => f.param(n));
  const transform = prologue?.setup(f);
  emitFlattenForTensor(f, granularity, rows, cols);
  const i = f.local("i32", "i"), j = f.local("i32", "j");
  const o = f.local("i32", "o");
  const v = f.local("v128", "v");
  const acc = Array.from({ length: 4 }, (_, g) => f.local("v128", `acc${g}`));
  const byColumn = granularity === "col";

  /** v ← |prologue(v)| */
  const absV = () => {
    transform?.(v);
    f.emit("local.get", v).emit("f32x4.abs").emit("local.set", v);
  };
  const maxInto = (a: Local) =>
    f.emit("local.get", a).emit("local.get", v).emit("i32x4.max_s")
      .emit("local.set", a);

  if (byColumn) {
    f.emit("i32.const", 0).emit("local.set", j);
    emitWhileBelow(f, j, () => f.emit("local.get", cols), 1, () => {
      f.emit("local.get", out).emit("local.get", j).emit("i32.const", 2)
        .emit("i32.shl").emit("i32.add").emit("f32.const", 0)
        .emit("f32.store");
    });
  }
  f.emit("i32.const", 0).emit("local.set", i);
  emitWhileBelow(f, i, () => f.emit("local.get", rows), 1, () => {
    for (const a of acc) {
      f.emit("v128.const", new Uint8Array(16)).emit("local.set", a);
    }
    f.emit("local.get", out).emit("local.set", o);
    f.emit("i32.const", 0).emit("local.set", j);
    emitWhileBelow(
      f,
      j,
      () => {
        f.emit("local.get", cols).emit("i32.const", CHUNK - 1).emit("i32.sub");
      },
      CHUNK,
      () => {
        acc.forEach((a, g) => {
          f.emit("local.get", x).emit("v128.load", { offset: 16 * g, align: 2 })
            .emit("local.set", v);
          absV();
          if (byColumn) {
            f.emit("local.get", o).emit("local.get", o)
              .emit("v128.load", { offset: 16 * g, align: 2 })
              .emit("local.get", v).emit("i32x4.max_s")
              .emit("v128.store", { offset: 16 * g, align: 2 });
          } else maxInto(a);
        });
        emitAddTo(f, x, 4 * CHUNK);
        if (byColumn) emitAddTo(f, o, 4 * CHUNK);
      },
    );
    emitWhileBelow(f, j, () => f.emit("local.get", cols), 1, () => {
      f.emit("local.get", x).emit("v128.load32_splat").emit("local.set", v);
      absV();
      if (byColumn) {
        f.emit("local.get", o).emit("local.get", o).emit("v128.load32_splat")
          .emit("local.get", v).emit("i32x4.max_s").emit(
            "f32x4.extract_lane",
            0,
          )
          .emit("f32.store");
        emitAddTo(f, o, 4);
      } else maxInto(acc[0]);
      emitAddTo(f, x, 4);
    });
    if (!byColumn) emitStoreReduced(f, acc, out, i);
  });
}

/** out[i] ← max over the lanes of the four accumulators. */
function emitStoreReduced(
  f: FunctionEmitter,
  acc: Local[],
  out: Local,
  i: Local,
): void {
  const [a0, a1, a2, a3] = acc;
  f.emit("local.get", a0).emit("local.get", a1).emit("i32x4.max_s")
    .emit("local.get", a2).emit("local.get", a3).emit("i32x4.max_s")
    .emit("i32x4.max_s").emit("local.set", a0);
  for (const fold of [FOLD_8, FOLD_4]) {
    f.emit("local.get", a0).emit("local.get", a0).emit("local.get", a0)
      .emit("i8x16.shuffle", fold).emit("i32x4.max_s").emit("local.set", a0);
  }
  f.emit("local.get", out).emit("local.get", i).emit("i32.const", 2)
    .emit("i32.shl").emit("i32.add").emit("local.get", a0)
    .emit("f32x4.extract_lane", 0).emit("f32.store");
}
