/**
 * Softmax over the last axis of attention scores, with the 1/√d scale fused
 * and, in the masked variant, BERT's additive attention mask.
 *
 * Forward `softmax_fwd(x, y, rows, cols, scale)` and
 * `softmax_masked_fwd(x, y, mask, rows, cols, rowsPerBatch, scale, maskValue)`:
 * z = scale·x (+ maskValue where mask[b, j] = 0), y = e^(z − max z)/Σ e^(z − max z).
 * For scores [B, heads, S, S], rows = B·heads·S, cols = S, rowsPerBatch =
 * heads·S, and mask is attention_mask [B, S] as i32 (1 attend, 0 masked).
 * maskValue −10000 reproduces HF BERT (a fully masked row is then a softmax
 * of the unmasked scores); −∞ is safe too: a row with every score −∞
 * yields zeros, not NaN.
 *
 * Backward `softmax_bwd(y, dy, dx, rows, cols, scale)`:
 * dx = scale·y ⊙ (dy − Σ_j dy⊙y); the mask is a constant and has no gradient.
 *
 * Pointers are byte addresses; x, y, dy, dx are f32 [rows, cols].
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  countedLoop,
  type F32Module,
  f32x4Const,
  type GenerateOptions,
  laneLoop,
  LaneReducer,
  load,
  store,
  temp,
} from "./emit.ts";
import { emitExp } from "./math.ts";

/** Generator parameters of the softmax forward. */
export interface SoftmaxParams {
  /** Whether an attention mask is added. */
  readonly masked: boolean;
}

/** Signature of `softmax_fwd`. */
export type SoftmaxFwd = (
  x: number,
  y: number,
  rows: number,
  cols: number,
  scale: number,
) => void;

/** Signature of `softmax_masked_fwd`. */
export type SoftmaxMaskedFwd = (
  x: number,
  y: number,
  mask: number,
  rows: number,
  cols: number,
  rowsPerBatch: number,
  scale: number,
  maskValue: number,
) => void;

/** Signature of `softmax_bwd`. */
export type SoftmaxBwd = (
  y: number,
  dy: number,
  dx: number,
  rows: number,
  cols: number,
  scale: number,
) => void;

/** Name of the forward kernel for `params`. */
export function softmaxFwdName(params: SoftmaxParams): string {
  return params.masked ? "softmax_masked_fwd" : "softmax_fwd";
}

/** Generates the masked softmax forward. */
export function generateSoftmaxFwd(
  params: { masked: true },
  options?: GenerateOptions,
): F32Module<SoftmaxMaskedFwd>;
/** Generates the unmasked softmax forward. */
export function generateSoftmaxFwd(
  params: { masked: false },
  options?: GenerateOptions,
): F32Module<SoftmaxFwd>;
/** Generates a softmax forward. */
export function generateSoftmaxFwd(
  params: SoftmaxParams,
  options: GenerateOptions = {},
): F32Module<SoftmaxFwd | SoftmaxMaskedFwd> {
  const names = params.masked
    ? [
      "x",
      "y",
      "mask",
      "rows",
      "cols",
      "rowsPerBatch",
      "scale",
      "maskValue",
    ]
    : ["x", "y", "rows", "cols", "scale"];
  const types = names.map((n) =>
    [n, n === "scale" || n === "maskValue" ? "f32" : "i32"] as const
  );
  return buildKernel(
    softmaxFwdName(params),
    types,
    [],
    options,
    (f) => emitForward(f, params.masked),
  );
}

function emitForward(f: FunctionEmitter, masked: boolean): void {
  const x = f.param("x");
  const y = f.param("y");
  const rows = f.param("rows");
  const cols = f.param("cols");
  const r = temp(f, "i32", "r");
  const off = temp(f, "i32", "off");
  const bytes = temp(f, "i32", "rowBytes");
  const scaleV = temp(f, "v128", "scaleV");
  const maxV = temp(f, "v128", "maxV");
  const inv = temp(f, "f32", "inv");
  const z = temp(f, "v128", "z");
  const max = new LaneReducer(f, "max");
  const sum = new LaneReducer(f, "sum");
  f.emit("local.get", cols).emit("i32.const", 2).emit("i32.shl")
    .emit("local.set", bytes);
  f.emit("local.get", f.param("scale")).emit("f32x4.splat")
    .emit("local.set", scaleV);
  // The mask's splatted value and the current batch's mask row.
  const mask = masked
    ? { value: temp(f, "v128", "maskV"), row: temp(f, "i32", "maskRow") }
    : undefined;
  if (mask) {
    f.emit("local.get", f.param("maskValue")).emit("f32x4.splat")
      .emit("local.set", mask.value);
  }
  countedLoop(f, r, rows, 1, () => {
    if (mask) {
      f.emit("local.get", f.param("mask")).emit("local.get", r)
        .emit("local.get", f.param("rowsPerBatch")).emit("i32.div_u")
        .emit("local.get", bytes).emit("i32.mul").emit("i32.add")
        .emit("local.set", mask.row);
    }
    max.reset();
    laneLoop(f, off, bytes, (lanes) => {
      store(f, lanes, y, off, () => {
        load(f, lanes, x, off);
        f.emit("local.get", scaleV).emit("f32x4.mul");
        if (mask) {
          // maskValue where the mask is 0, else +0 (and-ing the bits).
          load(f, lanes, mask.row, off);
          f32x4Const(f, 0);
          f.emit("i32x4.eq").emit("local.get", mask.value).emit("v128.and")
            .emit("f32x4.add");
        }
        f.emit("local.tee", z);
        max.add(lanes, () => f.emit("local.get", z));
      });
    });
    // An all −∞ row would make z − max NaN; with max 0 it gives e^−∞ = 0.
    max.result();
    const m = temp(f, "f32", "max");
    f.emit("local.set", m).emit("f32.const", 0).emit("local.get", m)
      .emit("local.get", m).emit("f32.const", -Infinity).emit("f32.eq")
      .emit("select")
      .emit("f32x4.splat").emit("local.set", maxV);
    sum.reset();
    laneLoop(f, off, bytes, (lanes) => {
      store(f, lanes, y, off, () => {
        load(f, lanes, y, off);
        f.emit("local.get", maxV).emit("f32x4.sub").emit("local.set", z);
        emitExp(f, z);
        const e = temp(f, "v128", "e");
        f.emit("local.tee", e);
        sum.add(lanes, () => f.emit("local.get", e));
      });
    });
    // A zero sum only comes from an all −∞ row; its output is all zeros.
    const s = temp(f, "f32", "sum");
    f.emit("f32.const", 0).emit("f32.const", 1);
    sum.result();
    f.emit("local.tee", s).emit("f32.div").emit("local.get", s)
      .emit("f32.const", 0).emit("f32.eq").emit("select").emit(
        "local.set",
        inv,
      );
    scaleRow(f, y, off, bytes, inv);
    f.emit("local.get", x).emit("local.get", bytes).emit("i32.add")
      .emit("local.set", x);
    f.emit("local.get", y).emit("local.get", bytes).emit("i32.add")
      .emit("local.set", y);
  });
}

/** y[j] *= s over one row. */
function scaleRow(
  f: FunctionEmitter,
  y: Local,
  off: Local,
  bytes: Local,
  s: Local,
): void {
  const sV = temp(f, "v128", "sV");
  f.emit("local.get", s).emit("f32x4.splat").emit("local.set", sV);
  laneLoop(f, off, bytes, (lanes) => {
    store(f, lanes, y, off, () => {
      load(f, lanes, y, off);
      f.emit("local.get", sV).emit("f32x4.mul");
    });
  });
}

/** Generates `softmax_bwd`. */
export function generateSoftmaxBwd(
  options: GenerateOptions = {},
): F32Module<SoftmaxBwd> {
  return buildKernel<SoftmaxBwd>(
    "softmax_bwd",
    [
      ["y", "i32"],
      ["dy", "i32"],
      ["dx", "i32"],
      ["rows", "i32"],
      ["cols", "i32"],
      ["scale", "f32"],
    ],
    [],
    options,
    (f) => {
      const [y, dy, dx, rows, cols] = ["y", "dy", "dx", "rows", "cols"].map((
        n,
      ) => f.param(n));
      const r = temp(f, "i32", "r");
      const off = temp(f, "i32", "off");
      const bytes = temp(f, "i32", "rowBytes");
      const dotV = temp(f, "v128", "dotV");
      const scaleV = temp(f, "v128", "scaleV");
      const dot = new LaneReducer(f, "sum");
      f.emit("local.get", cols).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", bytes);
      f.emit("local.get", f.param("scale")).emit("f32x4.splat")
        .emit("local.set", scaleV);
      countedLoop(f, r, rows, 1, () => {
        dot.reset();
        laneLoop(f, off, bytes, (lanes) => {
          dot.add(lanes, () => {
            load(f, lanes, y, off);
            load(f, lanes, dy, off);
            f.emit("f32x4.mul");
          });
        });
        dot.result();
        f.emit("f32x4.splat").emit("local.set", dotV);
        laneLoop(f, off, bytes, (lanes) => {
          store(f, lanes, dx, off, () => {
            load(f, lanes, dy, off);
            f.emit("local.get", dotV).emit("f32x4.sub");
            load(f, lanes, y, off);
            f.emit("f32x4.mul").emit("local.get", scaleV).emit("f32x4.mul");
          });
        });
        for (const p of [y, dy, dx]) {
          f.emit("local.get", p).emit("local.get", bytes).emit("i32.add")
            .emit("local.set", p);
        }
      });
    },
  );
}
