/**
 * Readable listings of every generated kernel, from the same manifests that
 * feed the kernel tests and benchmarks — what `deno task compile
 * --dump-kernels DIR` writes, one `.wat`-like file per kernel function.
 *
 * @module
 */

import { BFP_MANIFEST } from "./bfp/manifest.ts";
import { generateBfp } from "./bfp/generate.ts";
import { allF32Kernels } from "./f32/manifest.ts";
import { hasRelaxedSimd, hasUnsignedRelaxedDot } from "./gemm/features.ts";
import { generateGemm } from "./gemm/generate.ts";
import { GEMM_MANIFEST, needsRelaxedSimd } from "./gemm/manifest.ts";
import { allQuantizedKernels } from "./quantized/manifest.ts";

/** One kernel function's listing. */
export interface KernelListing {
  /** Kernel name, encoding its variant (e.g. `gemm_s8s8_3x12c4_relaxed`). */
  readonly name: string;
  /** Family folder it comes from: gemm, bfp, f32 or quantized. */
  readonly family: string;
  /** WAT-like text. */
  readonly text: string;
}

/**
 * Every kernel this machine can run: relaxed-SIMD variants only where
 * `WebAssembly.validate` accepts relaxed SIMD, and the one-dot `relaxed8`
 * only where its relaxed dot is exact for it (their dot16/muladd fallbacks
 * are listed either way).
 */
export function kernelListings(relaxed = hasRelaxedSimd()): KernelListing[] {
  const runs = (e: (typeof GEMM_MANIFEST)[number]) =>
    !needsRelaxedSimd(e) ||
    relaxed && (e.params.variant !== "relaxed8" || hasUnsignedRelaxedDot());
  const gemm = GEMM_MANIFEST.filter(runs).map(
    (e) => {
      const module = generateGemm(e.params);
      return { name: module.name, family: "gemm", text: module.listing() };
    },
  );
  const bfp = BFP_MANIFEST.flatMap((params) => {
    const module = generateBfp(params);
    return Object.values(module.names).map((name) => ({
      name,
      family: "bfp",
      text: module.listing(name),
    }));
  });
  const f32 = allF32Kernels().map((m) => ({
    name: m.name,
    family: "f32",
    text: m.listing(),
  }));
  const quantized = allQuantizedKernels().map((m) => ({
    name: m.name,
    family: "quantized",
    text: m.listing(),
  }));
  const unique = new Map<string, KernelListing>();
  for (const k of [...gemm, ...bfp, ...f32, ...quantized]) {
    unique.set(k.name, k);
  }
  return [...unique.values()];
}
