/**
 * Generator of the BFP dequantise kernel `bfp_unmap_b<bits>_<granularity>`:
 * x̂ = (f32(q)·a)·b with (a, b) the two f32 factors of the step Δ, so the
 * first product is exact and only the second rounds (once, like q·Δ).
 *
 * Signature: `unmap(q, y, rows, cols, scales)`; q is i8 or i16[rows·cols],
 * y f32[rows·cols], scales as in the map (with the step factors).
 * @module
 */

import type { FunctionEmitter } from "../wasm/mod.ts";
import {
  emitAddTo,
  emitFlattenForTensor,
  emitWhileBelow,
  GroupScales,
} from "./emit.ts";
import { bfpElementBytes, type BfpParams } from "./params.ts";

/** Parameters of the emitted unmap function, in order. */
export const UNMAP_SIGNATURE = [
  ["q", "i32"],
  ["y", "i32"],
  ["rows", "i32"],
  ["cols", "i32"],
  ["scales", "i32"],
] as const;

const CHUNK = 16;

/** Emits the body of the unmap function for `p` (rounding is irrelevant). */
export function emitUnmap(f: FunctionEmitter, p: BfpParams): void {
  const [q, y, rows, cols, scales] = UNMAP_SIGNATURE.map(([n]) => f.param(n));
  const bytes = bfpElementBytes(p.bits);
  emitFlattenForTensor(f, p.granularity, rows, cols);
  const scale = new GroupScales(f, p.granularity, scales, rows, cols);
  scale.atEntry();
  const i = f.local("i32", "i"), j = f.local("i32", "j");
  const wide = f.local("v128", "wide");

  /** Stack: i32x4 → f32x4 x̂. */
  const scaled = () =>
    f.emit("f32x4.convert_i32x4_s").emit("local.get", scale.a)
      .emit("f32x4.mul").emit("local.get", scale.b).emit("f32x4.mul");
  /** Pushes the i32x4 of elements 4g..4g+3 of the current chunk. */
  const lanesOf = (g: number) => {
    if (bytes === 2) {
      f.emit("local.get", q).emit("i32x4.load16x4_s", {
        offset: 8 * g,
        align: 1,
      });
      return;
    }
    f.emit("local.get", wide)
      .emit(g < 2 ? "i16x8.extend_low_i8x16_s" : "i16x8.extend_high_i8x16_s")
      .emit(
        g % 2 === 0 ? "i32x4.extend_low_i16x8_s" : "i32x4.extend_high_i16x8_s",
      );
  };

  f.emit("i32.const", 0).emit("local.set", i);
  emitWhileBelow(f, i, () => f.emit("local.get", rows), 1, () => {
    scale.atRow(i);
    f.emit("i32.const", 0).emit("local.set", j);
    emitWhileBelow(
      f,
      j,
      () => {
        f.emit("local.get", cols).emit("i32.const", CHUNK - 1).emit("i32.sub");
      },
      CHUNK,
      () => {
        if (bytes === 1) {
          f.emit("local.get", q).emit("v128.load", { align: 0 })
            .emit("local.set", wide);
        }
        for (let g = 0; g < 4; g++) {
          scale.atColumns(j, g, false);
          f.emit("local.get", y);
          lanesOf(g);
          scaled();
          f.emit("v128.store", { offset: 16 * g, align: 2 });
        }
        emitAddTo(f, q, bytes * CHUNK);
        emitAddTo(f, y, 4 * CHUNK);
      },
    );
    emitWhileBelow(f, j, () => f.emit("local.get", cols), 1, () => {
      scale.atColumns(j, 0, true);
      f.emit("local.get", y).emit("local.get", q)
        .emit(bytes === 1 ? "i32.load8_s" : "i32.load16_s").emit("i32x4.splat");
      scaled();
      f.emit("f32x4.extract_lane", 0).emit("f32.store");
      emitAddTo(f, q, bytes);
      emitAddTo(f, y, 4);
    });
  });
}
