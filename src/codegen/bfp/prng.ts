/**
 * The counter-based PRNG behind stochastic rounding: a keyed hash of
 * (seed, element index) → u ∈ [0, 1) with 24 bits, defined here once in
 * TypeScript and emitted as i32x4 code, so the scalar reference and the WASM
 * kernel draw the same u for every element in any order or thread split.
 *
 * mix = Wellons' `lowbias32` (xorshift-multiply, a bijection of u32 with low
 * avalanche bias). keys (k0, k1) = (mix(seed), mix(seed ⊕ 0x9e3779b9));
 * h(i) = mix(mix(i ⊕ k0) + k1); u = (h >>> 8) · 2^−24. The second keyed round
 * keeps the streams of different seeds from being shifts of one another.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";

const M1 = 0x7feb352d;
const M2 = 0x846ca68b;

/** lowbias32: a bijective u32 → u32 mixer. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, M1);
  x ^= x >>> 15;
  x = Math.imul(x, M2);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The two 32-bit keys of a seed (any integer; taken modulo 2^32). */
export function prngKeys(seed: number): [number, number] {
  return [mix32(seed >>> 0), mix32((seed ^ 0x9e3779b9) >>> 0)];
}

/** The keyed hash of element `index` under `keys`. */
export function prngHash(
  keys: readonly [number, number],
  index: number,
): number {
  return mix32((mix32((index ^ keys[0]) >>> 0) + keys[1]) >>> 0);
}

/** u ∈ [0, 1) with 24 random bits for element `index`: exact in f32. */
export function prngUniform(
  keys: readonly [number, number],
  index: number,
): number {
  return (prngHash(keys, index) >>> 8) * 2 ** -24;
}

/** v128 constants the emitted hash needs, splatted once per function. */
export interface PrngLocals {
  /** Splatted key 0. */
  readonly k0: Local;
  /** Splatted key 1. */
  readonly k1: Local;
  /** Splatted first multiplier of mix32. */
  readonly m1: Local;
  /** Splatted second multiplier of mix32. */
  readonly m2: Local;
  /** Splatted 2^−24 (f32). */
  readonly scale: Local;
}

/** Declares and fills the hash constants from the i32 key parameters. */
export function emitPrngSetup(
  f: FunctionEmitter,
  key0: Local,
  key1: Local,
): PrngLocals {
  const splat = (name: string, push: () => void, op: "i32x4" | "f32x4") => {
    const l = f.local("v128", name);
    push();
    f.emit(op === "i32x4" ? "i32x4.splat" : "f32x4.splat").emit("local.set", l);
    return l;
  };
  return {
    k0: splat("prngK0", () => f.emit("local.get", key0), "i32x4"),
    k1: splat("prngK1", () => f.emit("local.get", key1), "i32x4"),
    m1: splat("prngM1", () => f.emit("i32.const", M1), "i32x4"),
    m2: splat("prngM2", () => f.emit("i32.const", M2), "i32x4"),
    scale: splat("prngScale", () => f.emit("f32.const", 2 ** -24), "f32x4"),
  };
}

/** Emits mix32 on the i32x4 in `x`, in place. */
function emitMix(f: FunctionEmitter, x: Local, p: PrngLocals): void {
  const xorShift = (s: number) =>
    f.emit("local.get", x).emit("local.get", x).emit("i32.const", s)
      .emit("i32x4.shr_u").emit("v128.xor").emit("local.set", x);
  const mul = (m: Local) =>
    f.emit("local.get", x).emit("local.get", m).emit("i32x4.mul")
      .emit("local.set", x);
  xorShift(16);
  mul(p.m1);
  xorShift(15);
  mul(p.m2);
  xorShift(16);
}

/**
 * Replaces the element indices in `x` (i32x4) by their uniforms u (f32x4),
 * lane for lane what {@link prngUniform} returns.
 */
export function emitPrngUniform(
  f: FunctionEmitter,
  x: Local,
  p: PrngLocals,
): void {
  f.emit("local.get", x).emit("local.get", p.k0).emit("v128.xor")
    .emit("local.set", x);
  emitMix(f, x, p);
  f.emit("local.get", x).emit("local.get", p.k1).emit("i32x4.add")
    .emit("local.set", x);
  emitMix(f, x, p);
  f.emit("local.get", x).emit("i32.const", 8).emit("i32x4.shr_u")
    .emit("f32x4.convert_i32x4_s").emit("local.get", p.scale).emit("f32x4.mul")
    .emit("local.set", x);
}
