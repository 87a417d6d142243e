/**
 * Generator of the BFP map kernel `bfp_map_b<bits>_<rounding>_<granularity>`:
 * f32 → b-bit integers, lane for lane the definition in `reference.ts`.
 *
 * Signature: `map(x, q, rows, cols, scales, counterBase, key0, key1)`; x is
 * f32[rows·cols], q is i8 or i16[rows·cols] (row-major), scales holds the map
 * factors (see {@link GroupScales}), counterBase and keys drive stochastic
 * rounding (ignored by `rne`). Full chunks of 16 (b8) or 8 (b12/16) elements
 * go through the vector path; the remaining columns of a row go one at a
 * time through the same f32x4 code with the element splatted, so the tail
 * cannot round differently from the body.
 *
 * Per f32x4: y = (x·a)·b (two power-of-two factors, exact). To integers
 * with the magic-number trick instead of `nearest` + `trunc_sat` (2.6× faster
 * in V8, where the saturating convert is a long sequence): for |y| < 2^22,
 * y + 1.5·2^23 lands where the f32 spacing is 1, so the f32 add itself rounds
 * y to the nearest integer, ties to even, and subtracting the bits of
 * 1.5·2^23 as i32 leaves that integer. Here |y| < 2^(b−1) ≤ 2^15. RNE applies
 * it to y; SR to ⌊y⌋ (already integral, so it only converts), then adds
 * [u < y − ⌊y⌋] by subtracting the lane mask (−1 when true). Then clamp to
 * ±(2^(b−1)−1) in i32 *before* the saturating narrows, since R(y) can reach
 * ±2^(b−1) and the narrow would keep −128.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  emitAddTo,
  emitFlattenForTensor,
  emitWhileBelow,
  GroupScales,
  type Prologue,
} from "./emit.ts";
import { bfpElementBytes, bfpLimit, type BfpParams } from "./params.ts";
import { emitPrngSetup, emitPrngUniform, type PrngLocals } from "./prng.ts";

/** Parameters of the emitted map function, in order. */
export const MAP_SIGNATURE = [
  ["x", "i32"],
  ["q", "i32"],
  ["rows", "i32"],
  ["cols", "i32"],
  ["scales", "i32"],
  ["counterBase", "i32"],
  ["key0", "i32"],
  ["key1", "i32"],
] as const;

const MAGIC = 1.5 * 2 ** 23;

/** Elements per vector-path chunk: one i8x16 or one i16x8 store. */
export function mapChunk(p: BfpParams): number {
  return p.bits === 8 ? 16 : 8;
}

/** Emits the body of the map function for `p`. */
export function emitMap(
  f: FunctionEmitter,
  p: BfpParams,
  prologue?: Prologue,
): void {
  const [x, q, rows, cols, scales, counterBase, key0, key1] = MAP_SIGNATURE
    .map(([n]) => f.param(n));
  const chunk = mapChunk(p);
  const bytes = bfpElementBytes(p.bits);
  const transform = prologue?.setup(f);
  const prng = p.rounding === "sr" ? emitPrngSetup(f, key0, key1) : undefined;
  const limit = f.local("v128", "limit");
  const negLimit = f.local("v128", "negLimit");
  f.emit("i32.const", bfpLimit(p.bits)).emit("i32x4.splat")
    .emit("local.set", limit);
  f.emit("i32.const", -bfpLimit(p.bits)).emit("i32x4.splat")
    .emit("local.set", negLimit);
  const magic = f.local("v128", "magic");
  f.emit("f32.const", MAGIC).emit("f32x4.splat").emit("local.set", magic);
  const iota = f.local("v128", "iota");
  f.emit("v128.const", new Uint8Array(Int32Array.of(0, 1, 2, 3).buffer))
    .emit("local.set", iota);

  emitFlattenForTensor(f, p.granularity, rows, cols);
  const scale = new GroupScales(f, p.granularity, scales, rows, cols);
  scale.atEntry();
  const i = f.local("i32", "i"), j = f.local("i32", "j");
  const counter = f.local("i32", "counter");
  const v = f.local("v128", "v"), y = f.local("v128", "y");
  const fl = f.local("v128", "floor"), u = f.local("v128", "u");
  const qv = Array.from(
    { length: chunk / 4 },
    (_, g) => f.local("v128", `q${g}`),
  );

  /** q-vector `dst` ← R(y) clamped, from x in `v` and the counter on the stack (SR). */
  const quantise4 = (dst: Local, counterPush: () => void) => {
    transform?.(v);
    f.emit("local.get", v).emit("local.get", scale.a).emit("f32x4.mul")
      .emit("local.get", scale.b).emit("f32x4.mul").emit("local.set", y);
    if (prng) emitStochastic(f, { y, fl, u, prng, iota, magic, counterPush });
    else {
      f.emit("local.get", y).emit("local.get", magic).emit("f32x4.add")
        .emit("local.get", magic).emit("i32x4.sub");
    }
    f.emit("local.get", limit).emit("i32x4.min_s").emit("local.get", negLimit)
      .emit("i32x4.max_s").emit("local.set", dst);
  };
  const counterAt = (offset: number) => () => {
    f.emit("local.get", counter).emit("local.get", j).emit("i32.add");
    if (offset) f.emit("i32.const", offset).emit("i32.add");
  };

  f.emit("i32.const", 0).emit("local.set", i);
  emitWhileBelow(f, i, () => f.emit("local.get", rows), 1, () => {
    scale.atRow(i);
    // The element counter of (i, 0): counterBase + i·cols (wrapping, as the reference).
    f.emit("local.get", counterBase);
    f.emit("local.get", i).emit("local.get", cols).emit("i32.mul");
    f.emit("i32.add").emit("local.set", counter);
    f.emit("i32.const", 0).emit("local.set", j);
    emitWhileBelow(
      f,
      j,
      () => {
        f.emit("local.get", cols).emit("i32.const", chunk - 1).emit("i32.sub");
      },
      chunk,
      () => {
        qv.forEach((dst, g) => {
          scale.atColumns(j, g, false);
          f.emit("local.get", x).emit("v128.load", { offset: 16 * g, align: 2 })
            .emit("local.set", v);
          quantise4(dst, counterAt(4 * g));
        });
        f.emit("local.get", q);
        f.emit("local.get", qv[0]).emit("local.get", qv[1])
          .emit("i16x8.narrow_i32x4_s");
        if (bytes === 1) {
          f.emit("local.get", qv[2]).emit("local.get", qv[3])
            .emit("i16x8.narrow_i32x4_s").emit("i8x16.narrow_i16x8_s");
        }
        f.emit("v128.store", { align: 0 });
        emitAddTo(f, x, 4 * chunk);
        emitAddTo(f, q, bytes * chunk);
      },
    );
    emitWhileBelow(f, j, () => f.emit("local.get", cols), 1, () => {
      scale.atColumns(j, 0, true);
      f.emit("local.get", x).emit("v128.load32_splat").emit("local.set", v);
      quantise4(qv[0], counterAt(0));
      f.emit("local.get", q).emit("local.get", qv[0])
        .emit("i32x4.extract_lane", 0)
        .emit(bytes === 1 ? "i32.store8" : "i32.store16");
      emitAddTo(f, x, 4);
      emitAddTo(f, q, bytes);
    });
  });
}

/** SR: pushes ⌊y⌋ + [u < y − ⌊y⌋] as i32x4, u from the counters of the 4 lanes. */
function emitStochastic(
  f: FunctionEmitter,
  s: {
    y: Local;
    fl: Local;
    u: Local;
    prng: PrngLocals;
    iota: Local;
    magic: Local;
    counterPush: () => void;
  },
): void {
  s.counterPush();
  f.emit("i32x4.splat").emit("local.get", s.iota).emit("i32x4.add")
    .emit("local.set", s.u);
  emitPrngUniform(f, s.u, s.prng);
  f.emit("local.get", s.y).emit("f32x4.floor").emit("local.set", s.fl);
  f.emit("local.get", s.fl).emit("local.get", s.magic).emit("f32x4.add")
    .emit("local.get", s.magic).emit("i32x4.sub");
  f.emit("local.get", s.u).emit("local.get", s.y).emit("local.get", s.fl)
    .emit("f32x4.sub").emit("f32x4.lt").emit("i32x4.sub");
}
