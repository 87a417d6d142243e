/**
 * Load-time feature detection: relaxed SIMD is used when the engine validates
 * a module using its instructions, with the exact `dot16` path as fallback.
 * @module
 */

import { ModuleBuilder } from "../wasm/mod.ts";
import type { GemmParams, GemmVariant } from "./params.ts";

let relaxedSupported: boolean | undefined;

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
 * The int8×int8 variant to use: `relaxed` where supported, else `dot16`.
 * `relaxedAvailable` defaults to detection; tests pass `false` to force the fallback.
 */
export function selectS8Variant(
  relaxedAvailable = hasRelaxedSimd(),
): GemmVariant {
  return relaxedAvailable ? "relaxed" : "dot16";
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
