/**
 * Load-time feature detection: relaxed SIMD is used when the engine validates
 * a module using its instructions, with the exact `dot16` path as fallback;
 * the one-dot `relaxed8` int8 kernel only where a probe shows the relaxed
 * dot multiplies unsigned × signed bytes without saturating.
 * @module
 */

import { ModuleBuilder } from "../wasm/mod.ts";
import { gemmLayout, type GemmParams, type GemmVariant } from "./params.ts";

let relaxedSupported: boolean | undefined;
let unsignedDot: boolean | undefined;

/** A tiny module that uses the relaxed dot and madd instructions the kernels need. */
export function relaxedProbeModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.addFunction("probe", [["x", "v128"]], ["v128"], (f) => {
    const x = f.param("x");
    f.emit("local.get", x).emit("local.get", x).emit("local.get", x)
      .emit("i32x4.relaxed_dot_i8x16_i7x16_add_s");
    f.emit("local.get", x).emit("local.get", x).emit("local.get", x)
      .emit("f32x4.relaxed_madd");
    f.emit("i32x4.add");
  });
  return mb.encode();
}

/** Whether this engine supports relaxed SIMD (cached after the first call). */
export function hasRelaxedSimd(): boolean {
  relaxedSupported ??= WebAssembly.validate(relaxedProbeModule());
  return relaxedSupported;
}

/**
 * Probe operands of `i32x4.relaxed_dot_i8x16_i7x16_add_s(b, u, c)`, lane by
 * lane: all-255 u against ±128-ish b, whose pair sums (±65,000) saturate
 * pmaddubsw's i16 and whose u read as signed (sdot) is −1; then mixed signs
 * and an accumulator, so a lane order or add that differs shows too.
 */
export const UNSIGNED_DOT_PROBE: {
  /** Signed bytes of the first operand, four per i32 lane. */
  readonly b: readonly (readonly number[])[];
  /** Bytes of the second operand as unsigned values, four per lane. */
  readonly u: readonly (readonly number[])[];
  /** The accumulator's lanes. */
  readonly c: readonly number[];
} = {
  b: [
    [127, 127, 127, 127],
    [-128, -128, -128, -128],
    [-128, 127, -1, 1],
    [3, -5, 7, -9],
  ],
  u: [
    [255, 255, 255, 255],
    [255, 255, 255, 255],
    [128, 129, 254, 0],
    [200, 100, 50, 1],
  ],
  c: [1, -2, 3, -4],
};

/** The probe module: `dot()` stores the relaxed dot of the probe operands at address 0. */
export function unsignedDotProbeModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.defineMemory({ initial: 1 });
  const { b, u, c } = UNSIGNED_DOT_PROBE;
  const bytes = (rows: readonly (readonly number[])[]) =>
    new Uint8Array(rows.flat());
  const dot = mb.addFunction("dot", [], [], (f) => {
    f.emit("i32.const", 0)
      .emit("v128.const", bytes(b))
      .emit("v128.const", bytes(u))
      .emit("v128.const", new Uint8Array(new Int32Array(c).buffer))
      .emit("i32x4.relaxed_dot_i8x16_i7x16_add_s")
      .emit("v128.store");
  });
  mb.exportFunction("dot", dot);
  mb.exportMemory("memory");
  return mb.encode();
}

/**
 * The probe's four lanes as `relaxed8` needs them: Σ u·b + c with u read as
 * an unsigned byte and no intermediate saturation.
 */
export function unsignedDotExpected(): number[] {
  const { b, u, c } = UNSIGNED_DOT_PROBE;
  return c.map((start, lane) =>
    b[lane].reduce((sum, x, q) => sum + x * u[lane][q], start)
  );
}

/**
 * Whether this engine's relaxed dot is unsigned × signed without saturation
 * (cached after the first call): false without relaxed SIMD, and false on
 * any lane that differs from {@link unsignedDotExpected}.
 */
export function hasUnsignedRelaxedDot(): boolean {
  if (unsignedDot !== undefined) return unsignedDot;
  unsignedDot = false;
  if (hasRelaxedSimd()) {
    const instance = new WebAssembly.Instance(
      new WebAssembly.Module(unsignedDotProbeModule()),
    );
    const { dot, memory } = instance.exports as {
      dot: () => void;
      memory: WebAssembly.Memory;
    };
    dot();
    const got = new Int32Array(memory.buffer, 0, 4);
    unsignedDot = unsignedDotExpected().every((want, i) => got[i] === want);
  }
  return unsignedDot;
}

/** Whether kernel `p` runs exactly on this engine (the features its variant needs). */
export function runsOnThisEngine(p: GemmParams): boolean {
  if (p.variant === "relaxed8") return hasUnsignedRelaxedDot();
  return !gemmLayout(p).relaxedSimd || hasRelaxedSimd();
}

/**
 * The int8×int8 variant to use: `relaxed8` where the relaxed dot is
 * unsigned × signed without saturation, else `relaxed` where relaxed SIMD is
 * supported, else `dot16`. Both flags default to detection; tests pass
 * them to force a fallback.
 */
export function selectS8Variant(
  relaxedAvailable = hasRelaxedSimd(),
  unsignedDotAvailable = relaxedAvailable && hasUnsignedRelaxedDot(),
): GemmVariant {
  if (!relaxedAvailable) return "dot16";
  return unsignedDotAvailable ? "relaxed8" : "relaxed";
}

/** The f32 variant to use: `madd` where supported, else `muladd`. */
export function selectF32Variant(
  relaxedAvailable = hasRelaxedSimd(),
): GemmVariant {
  return relaxedAvailable ? "madd" : "muladd";
}

/**
 * The tuned f32 GEMM for this engine, as in the manifest: `madd` on a 6×8
 * tile (all 15 allocatable xmm registers, no spills) where relaxed SIMD is
 * available, else `muladd` on 4×12 (its extra temporary does not fit 6×8);
 * both with k unrolled ×4.
 */
export function selectF32Params(
  relaxedAvailable = hasRelaxedSimd(),
): GemmParams {
  const variant = selectF32Variant(relaxedAvailable);
  const [mr, nr] = variant === "madd" ? [6, 8] : [4, 12];
  return { family: "f32", variant, mr, nr, output: "f32", kUnroll: 4 };
}
