/**
 * Losses of the fine-tuning heads, each a value kernel and a gradient kernel.
 *
 * Softmax cross-entropy over logits [B, C] with i32 labels [B], mean over
 * the batch:
 * - `cross_entropy_fwd(logits, labels, rows, classes) → f32`:
 *   (1/B)·Σ_b (m_b + ln Σ_c e^(x_bc − m_b) − x_b,label), m_b = max_c x_bc.
 * - `cross_entropy_bwd(logits, labels, dlogits, rows, classes, dloss)`:
 *   dlogits = (softmax(x) − onehot(label))·dloss/B.
 * A label outside [0, C) traps (`unreachable`).
 *
 * Mean squared error over n predictions (STS-B regression):
 * - `mse_fwd(pred, target, n) → f32`: (1/n)·Σ (p − t)².
 * - `mse_bwd(pred, target, dpred, n, dloss)`: dpred = 2(p − t)·dloss/n.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  countedLoop,
  type F32Module,
  type GenerateOptions,
  laneLoop,
  LaneReducer,
  load,
  store,
  temp,
} from "./emit.ts";
import { emitExp, emitLog } from "./math.ts";

/** Signature of `cross_entropy_fwd`. */
export type CrossEntropyFwd = (
  logits: number,
  labels: number,
  rows: number,
  classes: number,
) => number;

/** Signature of `cross_entropy_bwd`. */
export type CrossEntropyBwd = (
  logits: number,
  labels: number,
  dlogits: number,
  rows: number,
  classes: number,
  dloss: number,
) => void;

/** Signature of `mse_fwd`. */
export type MseFwd = (pred: number, target: number, n: number) => number;

/** Signature of `mse_bwd`. */
export type MseBwd = (
  pred: number,
  target: number,
  dpred: number,
  n: number,
  dloss: number,
) => void;

/** Per-row state of the cross-entropy kernels. */
interface RowSoftmax {
  /** Byte address of the row's logits. */
  readonly row: Local;
  /** Byte offset of the label's logit in the row (checked). */
  readonly labelOff: Local;
  /** max_c x, splatted. */
  readonly maxV: Local;
  /** Σ_c e^(x − max). */
  readonly sum: Local;
}

/**
 * Emits the loop over rows; per row computes the max and the sum of
 * exponentials, then calls `body`.
 */
function forEachRowSoftmax(
  f: FunctionEmitter,
  body: (s: RowSoftmax, off: Local, bytes: Local) => void,
): void {
  const [logits, labels, rows, classes] = [
    "logits",
    "labels",
    "rows",
    "classes",
  ]
    .map((n) => f.param(n));
  const r = temp(f, "i32", "r");
  const off = temp(f, "i32", "off");
  const bytes = temp(f, "i32", "rowBytes");
  const row = temp(f, "i32", "row");
  const labelOff = temp(f, "i32", "labelOff");
  const maxV = temp(f, "v128", "maxV");
  const z = temp(f, "v128", "z");
  const sum = temp(f, "f32", "sum");
  const maxR = new LaneReducer(f, "max");
  const sumR = new LaneReducer(f, "sum");
  f.emit("local.get", classes).emit("i32.const", 2).emit("i32.shl")
    .emit("local.set", bytes);
  f.emit("local.get", logits).emit("local.set", row);
  countedLoop(f, r, rows, 1, () => {
    f.emit("local.get", labels).emit("i32.load").emit("local.tee", labelOff)
      .emit("local.get", classes).emit("i32.ge_u");
    f.ifThen(() => f.emit("unreachable"));
    f.emit("local.get", labelOff).emit("i32.const", 2).emit("i32.shl")
      .emit("local.set", labelOff);
    maxR.reset();
    laneLoop(f, off, bytes, (lanes) => {
      maxR.add(lanes, () => load(f, lanes, row, off));
    });
    maxR.result();
    f.emit("f32x4.splat").emit("local.set", maxV);
    sumR.reset();
    laneLoop(f, off, bytes, (lanes) => {
      sumR.add(lanes, () => {
        load(f, lanes, row, off);
        f.emit("local.get", maxV).emit("f32x4.sub").emit("local.set", z);
        emitExp(f, z);
      });
    });
    sumR.result();
    f.emit("local.set", sum);
    body({ row, labelOff, maxV, sum }, off, bytes);
    f.emit("local.get", row).emit("local.get", bytes).emit("i32.add")
      .emit("local.set", row);
    f.emit("local.get", labels).emit("i32.const", 4).emit("i32.add")
      .emit("local.set", labels);
  });
}

const CE_PARAMS = [
  ["logits", "i32"],
  ["labels", "i32"],
] as const;

/** Generates `cross_entropy_fwd`. */
export function generateCrossEntropyFwd(
  options: GenerateOptions = {},
): F32Module<CrossEntropyFwd> {
  return buildKernel<CrossEntropyFwd>(
    "cross_entropy_fwd",
    [...CE_PARAMS, ["rows", "i32"], ["classes", "i32"]],
    ["f32"],
    options,
    (f) => {
      const total = temp(f, "f32", "total");
      const s = temp(f, "v128", "sumV");
      forEachRowSoftmax(f, ({ row, labelOff, maxV, sum }) => {
        // loss = max + ln(sum) − x_label; sum ∈ [1, C], so ln is exact enough.
        f.emit("local.get", sum).emit("f32x4.splat").emit("local.set", s);
        f.emit("local.get", total).emit("local.get", maxV);
        emitLog(f, s);
        f.emit("f32x4.add").emit("f32x4.extract_lane", 0)
          .emit("local.get", row).emit("local.get", labelOff).emit("i32.add")
          .emit("f32.load").emit("f32.sub").emit("f32.add")
          .emit("local.set", total);
      });
      f.emit("local.get", total).emit("local.get", f.param("rows"))
        .emit("f32.convert_i32_s").emit("f32.div");
    },
  );
}

/** Generates `cross_entropy_bwd`. */
export function generateCrossEntropyBwd(
  options: GenerateOptions = {},
): F32Module<CrossEntropyBwd> {
  return buildKernel<CrossEntropyBwd>(
    "cross_entropy_bwd",
    [
      ...CE_PARAMS,
      ["dlogits", "i32"],
      ["rows", "i32"],
      ["classes", "i32"],
      ["dloss", "f32"],
    ],
    [],
    options,
    (f) => {
      const dlogits = f.param("dlogits");
      const unit = temp(f, "f32", "unit");
      const coefV = temp(f, "v128", "coefV");
      const z = temp(f, "v128", "z");
      f.emit("local.get", f.param("dloss")).emit("local.get", f.param("rows"))
        .emit("f32.convert_i32_s").emit("f32.div").emit("local.set", unit);
      forEachRowSoftmax(f, ({ row, labelOff, maxV, sum }, off, bytes) => {
        f.emit("local.get", unit).emit("local.get", sum).emit("f32.div")
          .emit("f32x4.splat").emit("local.set", coefV);
        laneLoop(f, off, bytes, (lanes) => {
          store(f, lanes, dlogits, off, () => {
            load(f, lanes, row, off);
            f.emit("local.get", maxV).emit("f32x4.sub").emit("local.set", z);
            emitExp(f, z);
            f.emit("local.get", coefV).emit("f32x4.mul");
          });
        });
        const at = temp(f, "i32", "labelAt");
        f.emit("local.get", dlogits).emit("local.get", labelOff)
          .emit("i32.add").emit("local.tee", at).emit("local.get", at)
          .emit("f32.load").emit("local.get", unit).emit("f32.sub")
          .emit("f32.store");
        f.emit("local.get", dlogits).emit("local.get", bytes).emit("i32.add")
          .emit("local.set", dlogits);
      });
    },
  );
}

const MSE_PARAMS = [["pred", "i32"], ["target", "i32"]] as const;

/** Pushes (p − t) for the current lanes. */
function diff(f: FunctionEmitter, lanes: 4 | 1, off: Local): void {
  load(f, lanes, f.param("pred"), off);
  load(f, lanes, f.param("target"), off);
  f.emit("f32x4.sub");
}

/** Declares the byte-offset loop over n and returns its locals. */
function mseLoop(f: FunctionEmitter): { off: Local; bytes: Local } {
  const off = temp(f, "i32", "off");
  const bytes = temp(f, "i32", "bytes");
  f.emit("local.get", f.param("n")).emit("i32.const", 2).emit("i32.shl")
    .emit("local.set", bytes);
  return { off, bytes };
}

/** Generates `mse_fwd`. */
export function generateMseFwd(
  options: GenerateOptions = {},
): F32Module<MseFwd> {
  return buildKernel<MseFwd>(
    "mse_fwd",
    [...MSE_PARAMS, ["n", "i32"]],
    ["f32"],
    options,
    (f) => {
      const { off, bytes } = mseLoop(f);
      const d = temp(f, "v128", "d");
      const sum = new LaneReducer(f, "sum");
      sum.reset();
      laneLoop(f, off, bytes, (lanes) => {
        sum.add(lanes, () => {
          diff(f, lanes, off);
          f.emit("local.tee", d).emit("local.get", d).emit("f32x4.mul");
        });
      });
      sum.result();
      f.emit("local.get", f.param("n")).emit("f32.convert_i32_s")
        .emit("f32.div");
    },
  );
}

/** Generates `mse_bwd`. */
export function generateMseBwd(
  options: GenerateOptions = {},
): F32Module<MseBwd> {
  return buildKernel<MseBwd>(
    "mse_bwd",
    [...MSE_PARAMS, ["dpred", "i32"], ["n", "i32"], ["dloss", "f32"]],
    [],
    options,
    (f) => {
      const { off, bytes } = mseLoop(f);
      const coefV = temp(f, "v128", "coefV");
      f.emit("local.get", f.param("dloss")).emit("f32.const", 2)
        .emit("f32.mul").emit("local.get", f.param("n"))
        .emit("f32.convert_i32_s").emit("f32.div").emit("f32x4.splat")
        .emit("local.set", coefV);
      laneLoop(f, off, bytes, (lanes) => {
        store(f, lanes, f.param("dpred"), off, () => {
          diff(f, lanes, off);
          f.emit("local.get", coefV).emit("f32x4.mul");
        });
      });
    },
  );
}
