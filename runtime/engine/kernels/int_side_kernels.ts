/**
 * The generated SIMD kernels of the outlier side product (`int_side.ts`),
 * one module each over the engine memory, all addresses in bytes:
 *
 * - `side_axpy(acc, x, stride, s, len, init)`: acc[t] (= or +=) s·x[t·stride]
 *   for t < len — an f64 line sum of int8 x times an int8/int16 value s,
 *   exact (each product is an exact i32, each sum an exact f64);
 * - `side_finish(y, ystride, acc, len, scale, b)`: y[t·ystride] =
 *   fl32(y + fl32(acc[t]·scale)), then fl32(· + b[t]) unless b = 0 — the
 *   f64 product rounded once to f32, then two f32 adds, as the reference's
 *   `Add(main, side)` and bias `Add` round;
 * - `side_bias(y, b, rows, n)`: y[i, j] = fl32(y[i, j] + b[j]).
 *
 * @module
 */

import {
  buildKernel,
  type F32Module,
  type KernelFn,
  temp,
} from "../../../src/codegen/f32/mod.ts";
import type { FunctionEmitter, Local } from "../../../src/codegen/wasm/mod.ts";
import type { KernelRuntime } from "./types.ts";

/** `acc[t] (=|+=) s·x[t·stride]` for t < len: f64 acc, int8 x (byte addresses). */
export type AxpyFn = (
  acc: number,
  x: number,
  stride: number,
  s: number,
  len: number,
  init: number,
) => void;
/** `y[t·ystride] = fl32(y + fl32(acc[t]·scale))`, then `+ b[t]` unless b = 0. */
export type FinishFn = (
  y: number,
  ystride: number,
  acc: number,
  len: number,
  scale: number,
  b: number,
) => void;
/** `y[i, j] = fl32(y[i, j] + b[j])` over rows × n, f32 (byte addresses). */
export type BiasFn = (y: number, b: number, rows: number, n: number) => void;

/** The side kernels bound to the engine memory. */
export interface SideKernels {
  /** Adds s times one line of the other operand into a line sum. */
  readonly axpy: AxpyFn;
  /** Adds a scaled line sum (and the bias) into an output line. */
  readonly finish: FinishFn;
  /** Adds a per-column bias to output rows. */
  readonly bias: BiasFn;
}

/** Emits `for (; t + lanes <= len; t += lanes) body()`; t is not reset. */
function loopFrom(
  f: FunctionEmitter,
  t: Local,
  len: Local,
  lanes: number,
  body: () => void,
): void {
  f.block((exit) => {
    f.loop((next) => {
      f.emit("local.get", t).emit("i32.const", lanes).emit("i32.add")
        .emit("local.get", len).emit("i32.gt_u").emit("br_if", exit);
      body();
      f.emit("local.get", t).emit("i32.const", lanes).emit("i32.add")
        .emit("local.set", t).emit("br", next);
    });
  });
}

/** A pointer the lane loop advances: `wide` bytes per vector step, `one` per lane. */
interface Cursor {
  readonly at: Local;
  readonly wide: number;
  readonly one: number | Local;
}

/**
 * Emits steps of `width` lanes while `unit` (a stride) is 1, then 1-lane
 * steps to `len`, advancing the cursors; a 1-lane step runs the vector code
 * on a splat and keeps lane 0, so a tail element is computed exactly like
 * the others.
 */
function laneSteps(
  f: FunctionEmitter,
  len: Local,
  width: number,
  unit: Local | undefined,
  cursors: readonly Cursor[],
  body: (wide: boolean) => void,
): void {
  const t = temp(f, "i32", "t");
  const steps = (wide: boolean) =>
    loopFrom(f, t, len, wide ? width : 1, () => {
      body(wide);
      for (const c of cursors) {
        const by = wide ? c.wide : c.one;
        f.emit("local.get", c.at);
        if (typeof by === "number") f.emit("i32.const", by);
        else f.emit("local.get", by);
        f.emit("i32.add").emit("local.set", c.at);
      }
    });
  f.emit("i32.const", 0).emit("local.set", t);
  if (unit === undefined) steps(true);
  else {
    f.emit("local.get", unit).emit("i32.const", 1).emit("i32.eq");
    f.ifThen(() => steps(true));
  }
  steps(false);
}

/** f32 data is 4-byte aligned, f64 sums 8-byte. */
const F32 = { align: 2 }, F64 = { align: 3 };
/** Lanes 2–3 of a vector moved to lanes 0–1. */
const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** The low halves of two vectors, side by side. */
const LOWS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

function axpyKernel(shared: boolean): F32Module<AxpyFn> {
  const params = ["acc", "x", "stride", "s", "len", "init"] as const;
  return buildKernel(
    "side_axpy",
    params.map((p) => [p, "i32"] as const),
    [],
    { shared },
    (f) => {
      const [acc, x, stride, s, len, init] = params.map((p) => f.param(p));
      const [sv, w, h16, p, d] = ["sv", "w", "h16", "p", "d"].map((n) =>
        f.local("v128", n)
      );
      f.emit("local.get", s).emit("i32x4.splat").emit("local.set", sv);
      // |s·x| < 2^22: exact in i32, and exact in f64 from there on.
      const product = (from: Local, high: boolean) => {
        f.emit("local.get", from)
          .emit(high ? "i32x4.extend_high_i16x8_s" : "i32x4.extend_low_i16x8_s")
          .emit("local.get", sv).emit("i32x4.mul").emit("local.set", p);
      };
      const body = (first: boolean) => (wide: boolean) => {
        if (!wide) {
          f.emit("local.get", x).emit("i32.load8_s").emit("i32x4.splat")
            .emit("local.get", sv).emit("i32x4.mul")
            .emit("f64x2.convert_low_i32x4_s");
          if (!first) {
            f.emit("local.get", acc).emit("v128.load64_splat")
              .emit("f64x2.add");
          }
          // No f64.store in the table: lane 0's two words.
          f.emit("local.set", d);
          for (const word of [0, 1]) {
            f.emit("local.get", acc).emit("local.get", d)
              .emit("i32x4.extract_lane", word)
              .emit("i32.store", { offset: 4 * word });
          }
          return;
        }
        f.emit("local.get", x).emit("v128.load", { align: 0 })
          .emit("local.set", w);
        for (const h of [0, 1]) {
          f.emit("local.get", w)
            .emit(h ? "i16x8.extend_high_i8x16_s" : "i16x8.extend_low_i8x16_s")
            .emit("local.set", h16);
          for (const q of [0, 1]) {
            product(h16, q === 1);
            for (const half of [0, 1]) {
              const at = { ...F64, offset: 8 * (8 * h + 4 * q + 2 * half) };
              f.emit("local.get", acc).emit("local.get", p);
              if (half) f.emit("local.get", p).emit("i8x16.shuffle", HIGH);
              f.emit("f64x2.convert_low_i32x4_s");
              if (!first) {
                f.emit("local.get", acc).emit("v128.load", at)
                  .emit("f64x2.add");
              }
              f.emit("v128.store", at);
            }
          }
        }
      };
      const cursors = [
        { at: x, wide: 16, one: stride },
        { at: acc, wide: 128, one: 8 },
      ];
      f.emit("local.get", init);
      f.ifThen(
        () => laneSteps(f, len, 16, stride, cursors, body(true)),
        () => laneSteps(f, len, 16, stride, cursors, body(false)),
      );
    },
  );
}

function finishKernel(shared: boolean): F32Module<FinishFn> {
  const params = ["y", "ystride", "acc", "len", "scale", "b"] as const;
  return buildKernel(
    "side_finish",
    params.map((p) => [p, p === "scale" ? "f64" : "i32"] as const),
    [],
    { shared },
    (f) => {
      const [y, ystride, acc, len, scale, b] = params.map((p) => f.param(p));
      const [sc, yBytes] = [f.local("v128", "sc"), f.local("i32", "yBytes")];
      f.emit("local.get", scale).emit("f64x2.splat").emit("local.set", sc);
      f.emit("local.get", ystride).emit("i32.const", 4).emit("i32.mul")
        .emit("local.set", yBytes);
      const body = (bias: boolean) => (wide: boolean) => {
        const load = wide ? "v128.load" : "v128.load32_splat";
        for (const q of wide ? [0, 1, 2, 3] : [0]) {
          const at = { ...F32, offset: 16 * q };
          f.emit("local.get", y).emit("local.get", y).emit(load, at);
          for (const half of [0, 1]) {
            f.emit("local.get", acc);
            if (wide) {
              f.emit("v128.load", { ...F64, offset: 32 * q + 16 * half });
            } else f.emit("v128.load64_splat");
            f.emit("local.get", sc).emit("f64x2.mul")
              .emit("f32x4.demote_f64x2_zero");
          }
          f.emit("i8x16.shuffle", LOWS).emit("f32x4.add");
          if (bias) f.emit("local.get", b).emit(load, at).emit("f32x4.add");
          if (wide) f.emit("v128.store", at);
          else f.emit("f32x4.extract_lane", 0).emit("f32.store");
        }
      };
      const cursors = [
        { at: y, wide: 64, one: yBytes },
        { at: acc, wide: 128, one: 8 },
      ];
      const withBias = [...cursors, { at: b, wide: 64, one: 4 }];
      f.emit("local.get", b);
      f.ifThen(
        () => laneSteps(f, len, 16, ystride, withBias, body(true)),
        () => laneSteps(f, len, 16, ystride, cursors, body(false)),
      );
    },
  );
}

function biasKernel(shared: boolean): F32Module<BiasFn> {
  const params = ["y", "b", "rows", "n"] as const;
  return buildKernel(
    "side_bias",
    params.map((p) => [p, "i32"] as const),
    [],
    { shared },
    (f) => {
      const [y, b, rows, n] = params.map((p) => f.param(p));
      const [i, bp] = [f.local("i32", "i"), f.local("i32", "bp")];
      const cursors = [y, bp].map((at) => ({ at, wide: 64, one: 4 }));
      f.emit("i32.const", 0).emit("local.set", i);
      // y runs on through the rows; b restarts with each.
      loopFrom(f, i, rows, 1, () => {
        f.emit("local.get", b).emit("local.set", bp);
        laneSteps(f, n, 16, undefined, cursors, (wide) => {
          for (const q of wide ? [0, 1, 2, 3] : [0]) {
            const at = { ...F32, offset: 16 * q };
            const load = wide ? "v128.load" : "v128.load32_splat";
            f.emit("local.get", y).emit("local.get", y).emit(load, at)
              .emit("local.get", bp).emit(load, at).emit("f32x4.add");
            if (wide) f.emit("v128.store", at);
            else f.emit("f32x4.extract_lane", 0).emit("f32.store");
          }
        });
      });
    },
  );
}

type Modules = readonly [
  F32Module<AxpyFn>,
  F32Module<FinishFn>,
  F32Module<BiasFn>,
];
const generated = new Map<boolean, Modules>();

/** The side kernels on the engine memory (generated once per process). */
export async function sideKernels(
  rt: Pick<KernelRuntime, "instantiate" | "shared">,
): Promise<SideKernels> {
  let modules = generated.get(rt.shared);
  if (modules === undefined) {
    modules = [
      axpyKernel(rt.shared),
      finishKernel(rt.shared),
      biasKernel(rt.shared),
    ];
    generated.set(rt.shared, modules);
  }
  const exportOf = async <F extends KernelFn>(m: F32Module<F>) =>
    (await rt.instantiate(m))[m.name] as F;
  return {
    axpy: await exportOf(modules[0]),
    finish: await exportOf(modules[1]),
    bias: await exportOf(modules[2]),
  };
}
