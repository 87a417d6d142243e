/**
 * The element prologues that turn the BFP max-abs and map kernels into the
 * outlier passes over X: `split` keeps the inliers (|x| ≤ γ, else 0) for
 * Approach 1; `tile` replaces x by its remainder r = x − 2γk for Approach 2.
 * Both are specialised on γ (a compile option), which the names carry.
 * @module
 */

import type { Prologue } from "../bfp/mod.ts";
import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import { checkGamma } from "./params.ts";

function splatF32(f: FunctionEmitter, name: string, value: number): Local {
  const l = f.local("v128", name);
  f.emit("f32.const", value).emit("f32x4.splat").emit("local.set", l);
  return l;
}

/** γ as a name fragment: 5 → `g5`, 2.5 → `g2p5`. */
function gammaTag(gamma: number): string {
  return `g${String(gamma).replace(".", "p")}`;
}

/** Approach 1 inliers: v ← (|v| ≤ γ) ? v : 0, by masking. */
export function splitPrologue(gamma: number): Prologue {
  checkGamma(gamma);
  return {
    name: `outlier_split_${gammaTag(gamma)}`,
    setup(f) {
      const g = splatF32(f, "gamma", gamma);
      return (v) => {
        f.emit("local.get", v).emit("local.get", v).emit("f32x4.abs")
          .emit("local.get", g).emit("f32x4.le").emit("v128.and")
          .emit("local.set", v);
      };
    },
  };
}

/**
 * Approach 2 remainder: k̃ = ⌊(v + γ)·(1/2γ)⌋ (may be off by one near a
 * boundary), r = v − 2γ·k̃ (exact: 2γ·k̃ fits 24 bits, see `checkGamma`, and
 * the difference is representable), then one correction step each way brings
 * r into [−γ, γ). Exact whenever |k| ≤ 32768, which the host checks first.
 * A vector whose lanes all lie in [−γ, γ) — almost every one, outliers being
 * rare — branches past the arithmetic (2× faster on BERT-like data).
 */
export function tilePrologue(gamma: number): Prologue {
  checkGamma(gamma);
  return {
    name: `outlier_tile_${gammaTag(gamma)}`,
    setup(f) {
      const g = splatF32(f, "gamma", gamma);
      const negG = splatF32(f, "negGamma", -gamma);
      const twoG = splatF32(f, "twoGamma", 2 * gamma);
      const inv = splatF32(f, "invTwoGamma", Math.fround(1 / (2 * gamma)));
      const r = f.local("v128", "remainder");
      return (v) => {
        // Most vectors hold no outlier: r = v there, so skip the arithmetic.
        f.emit("local.get", v).emit("local.get", negG).emit("f32x4.ge")
          .emit("local.get", v).emit("local.get", g).emit("f32x4.lt")
          .emit("v128.and").emit("i32x4.all_true").emit("i32.eqz");
        f.ifThen(() => {
          f.emit("local.get", v)
            .emit("local.get", v).emit("local.get", g).emit("f32x4.add")
            .emit("local.get", inv).emit("f32x4.mul").emit("f32x4.floor")
            .emit("local.get", twoG).emit("f32x4.mul").emit("f32x4.sub")
            .emit("local.set", r);
          f.emit("local.get", r)
            .emit("local.get", r).emit("local.get", g).emit("f32x4.ge")
            .emit("local.get", twoG).emit("v128.and").emit("f32x4.sub")
            .emit("local.set", r);
          f.emit("local.get", r)
            .emit("local.get", r).emit("local.get", negG).emit("f32x4.lt")
            .emit("local.get", twoG).emit("v128.and").emit("f32x4.add")
            .emit("local.set", v);
        });
      };
    },
  };
}
