/**
 * AdamW on f32 master weights, one fused pass over (w, g, m, v):
 *
 * `adamw(w, g, m, v, n, lr, beta1, beta2, eps, wd, step, decay)` with step ≥ 1
 * (a step below 1 traps) and decay 0 for no-decay tensors (biases, LayerNorm):
 * ```
 * w ← w·(1 − lr·wd)                      # decoupled decay, only when decay ≠ 0
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * w ← w − (lr/(1 − β1^t))·m / (√v/√(1 − β2^t) + ε)
 * ```
 * the order and form of PyTorch's `torch.optim.AdamW` (single tensor path).
 * Hyperparameters are f64 (JS numbers pass exactly) and every scalar
 * (1 − β, 1 − lr·wd, lr/(1 − β1^t), 1/√(1 − β2^t)) is formed in f64, β^t by
 * binary powering, and rounded once to f32: in f32, 1 − β2 for β2 = 0.999
 * would carry the 1e-5 relative error of f32(0.999).
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  type F32Module,
  type GenerateOptions,
  laneLoop,
  load,
  store,
  temp,
} from "./emit.ts";

/** Signature of `adamw`. */
export type AdamW = (
  w: number,
  g: number,
  m: number,
  v: number,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  wd: number,
  step: number,
  decay: number,
) => void;

/** Pushes the f64 β^step (β an f64 param, step an i32 ≥ 1). */
function emitPow(f: FunctionEmitter, beta: Local, step: Local): void {
  const base = temp(f, "f64", "base");
  const acc = temp(f, "f64", "acc");
  const e = temp(f, "i32", "e");
  f.emit("local.get", beta).emit("local.set", base);
  f.emit("i32.const", 1).emit("f64.convert_i32_s").emit("local.set", acc);
  f.emit("local.get", step).emit("local.set", e);
  f.block((exit) => {
    f.loop((next) => {
      f.emit("local.get", e).emit("i32.eqz").emit("br_if", exit);
      f.emit("local.get", e).emit("i32.const", 1).emit("i32.and");
      f.ifThen(() => {
        f.emit("local.get", acc).emit("local.get", base).emit("f64.mul")
          .emit("local.set", acc);
      });
      f.emit("local.get", base).emit("local.get", base).emit("f64.mul")
        .emit("local.set", base);
      f.emit("local.get", e).emit("i32.const", 1).emit("i32.shr_u")
        .emit("local.set", e).emit("br", next);
    });
  });
  f.emit("local.get", acc);
}

/** Pushes the f64 1 − β^step. */
function emitBiasCorrection(
  f: FunctionEmitter,
  beta: Local,
  step: Local,
): void {
  f.emit("i32.const", 1).emit("f64.convert_i32_s");
  emitPow(f, beta, step);
  f.emit("f64.sub");
}

/** Generates `adamw`. */
export function generateAdamW(options: GenerateOptions = {}): F32Module<AdamW> {
  return buildKernel<AdamW>(
    "adamw",
    [
      ["w", "i32"],
      ["g", "i32"],
      ["m", "i32"],
      ["v", "i32"],
      ["n", "i32"],
      ["lr", "f64"],
      ["beta1", "f64"],
      ["beta2", "f64"],
      ["eps", "f64"],
      ["wd", "f64"],
      ["step", "i32"],
      ["decay", "i32"],
    ],
    [],
    options,
    (f) => {
      const P = (n: string) => f.param(n);
      const [w, g, m, v, lr, beta1, beta2, step] = [
        "w",
        "g",
        "m",
        "v",
        "lr",
        "beta1",
        "beta2",
        "step",
      ].map(P);
      // Scalars are formed in f64, then rounded once to f32 and splatted.
      const splat = (hint: string, value: () => void): Local => {
        const l = temp(f, "v128", hint);
        value();
        f.emit("f32.demote_f64").emit("f32x4.splat").emit("local.set", l);
        return l;
      };
      // WASM has no f64.const in the opcode table; 1.0 comes from an i32.
      const one = () => f.emit("i32.const", 1).emit("f64.convert_i32_s");
      f.emit("local.get", step).emit("i32.const", 1).emit("i32.lt_s");
      f.ifThen(() => f.emit("unreachable"));
      const shrink = splat("shrink", () => {
        one();
        f.emit("local.get", lr).emit("local.get", P("wd")).emit("f64.mul")
          .emit("f64.sub");
        one();
        f.emit("local.get", P("decay")).emit("select");
      });
      const stepSize = splat("stepSize", () => {
        f.emit("local.get", lr);
        emitBiasCorrection(f, beta1, step);
        f.emit("f64.div");
      });
      const invSqrtBc2 = splat("invSqrtBc2", () => {
        one();
        emitBiasCorrection(f, beta2, step);
        f.emit("f64.sqrt").emit("f64.div");
      });
      const b1 = splat("b1", () => f.emit("local.get", beta1));
      const b2 = splat("b2", () => f.emit("local.get", beta2));
      const c1 = splat("oneMinusB1", () => {
        one();
        f.emit("local.get", beta1).emit("f64.sub");
      });
      const c2 = splat("oneMinusB2", () => {
        one();
        f.emit("local.get", beta2).emit("f64.sub");
      });
      const epsV = splat("epsV", () => f.emit("local.get", P("eps")));
      const off = temp(f, "i32", "off");
      const bytes = temp(f, "i32", "bytes");
      const gv = temp(f, "v128", "gv");
      const mv = temp(f, "v128", "mv");
      const vv = temp(f, "v128", "vv");
      f.emit("local.get", P("n")).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", bytes);
      laneLoop(f, off, bytes, (lanes) => {
        load(f, lanes, g, off);
        f.emit("local.set", gv);
        store(f, lanes, m, off, () => {
          f.emit("local.get", b1);
          load(f, lanes, m, off);
          f.emit("f32x4.mul").emit("local.get", c1).emit("local.get", gv)
            .emit("f32x4.mul").emit("f32x4.add").emit("local.tee", mv);
        });
        store(f, lanes, v, off, () => {
          f.emit("local.get", b2);
          load(f, lanes, v, off);
          f.emit("f32x4.mul").emit("local.get", c2).emit("local.get", gv)
            .emit("local.get", gv).emit("f32x4.mul").emit("f32x4.mul")
            .emit("f32x4.add").emit("local.tee", vv);
        });
        store(f, lanes, w, off, () => {
          load(f, lanes, w, off);
          f.emit("local.get", shrink).emit("f32x4.mul")
            .emit("local.get", stepSize).emit("local.get", mv)
            .emit("f32x4.mul").emit("local.get", vv).emit("f32x4.sqrt")
            .emit("local.get", invSqrtBc2).emit("f32x4.mul")
            .emit("local.get", epsV).emit("f32x4.add").emit("f32x4.div")
            .emit("f32x4.sub");
        });
      });
    },
  );
}
