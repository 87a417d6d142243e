/**
 * LayerNorm over the last axis, rows of a compile-time width H.
 *
 * Forward `layer_norm_fwd_h<H>(x, gamma, beta, y, mean, rstd, rows, eps)`:
 * per row μ = mean(x), σ² = mean((x − μ)²) (two passes, so no cancellation),
 * rstd = 1/√(σ² + ε), y = (x − μ)·rstd·γ + β; saves μ and rstd per row.
 *
 * Backward `layer_norm_bwd_h<H>(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows)`:
 * with x̂ = (x − μ)·rstd and g = dy·γ,
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dγ += Σ_rows dy·x̂, dβ += Σ_rows dy
 * (accumulated into the caller's buffers, so the caller zeroes them once per
 * step and gradient accumulation over micro-batches comes free).
 *
 * All pointers are byte addresses of f32 arrays: x, y, dy, dx [rows, H];
 * gamma, beta, dgamma, dbeta [H]; mean, rstd [rows].
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

/** Generator parameters of the LayerNorm family. */
export interface LayerNormParams {
  /** Row width H (the hidden size), 1..65536. */
  readonly hidden: number;
}

/** Signature of `layer_norm_fwd_h<H>`. */
export type LayerNormFwd = (
  x: number,
  gamma: number,
  beta: number,
  y: number,
  mean: number,
  rstd: number,
  rows: number,
  eps: number,
) => void;

/** Signature of `layer_norm_bwd_h<H>`. */
export type LayerNormBwd = (
  x: number,
  gamma: number,
  mean: number,
  rstd: number,
  dy: number,
  dx: number,
  dgamma: number,
  dbeta: number,
  rows: number,
) => void;

function checkHidden({ hidden }: LayerNormParams): void {
  if (!Number.isInteger(hidden) || hidden < 1 || hidden > 65536) {
    throw new RangeError(
      `LayerNorm hidden size must be an integer in [1, 65536], got ${hidden}.`,
    );
  }
}

/** Advances each pointer local by `bytes`. */
function advance(f: FunctionEmitter, ptrs: Local[], bytes: number): void {
  for (const p of ptrs) {
    f.emit("local.get", p).emit("i32.const", bytes).emit("i32.add")
      .emit("local.set", p);
  }
}

/** Generates `layer_norm_fwd_h<H>`. */
export function generateLayerNormFwd(
  params: LayerNormParams,
  options: GenerateOptions = {},
): F32Module<LayerNormFwd> {
  checkHidden(params);
  const h = params.hidden;
  return buildKernel<LayerNormFwd>(
    `layer_norm_fwd_h${h}`,
    [
      ["x", "i32"],
      ["gamma", "i32"],
      ["beta", "i32"],
      ["y", "i32"],
      ["mean", "i32"],
      ["rstd", "i32"],
      ["rows", "i32"],
      ["eps", "f32"],
    ],
    [],
    options,
    (f) => {
      const [x, gamma, beta, y, mean, rstd, rows, eps] = [
        "x",
        "gamma",
        "beta",
        "y",
        "mean",
        "rstd",
        "rows",
        "eps",
      ].map((n) => f.param(n));
      const r = temp(f, "i32", "r");
      const off = temp(f, "i32", "off");
      const mu = temp(f, "f32", "mu");
      const rs = temp(f, "f32", "rs");
      const muV = temp(f, "v128", "muV");
      const rsV = temp(f, "v128", "rsV");
      const sum = new LaneReducer(f, "sum");
      const centred = () => {
        f.emit("local.get", muV).emit("f32x4.sub");
      };
      countedLoop(f, r, rows, 1, () => {
        sum.reset();
        laneLoop(f, off, 4 * h, (lanes) => {
          sum.add(lanes, () => load(f, lanes, x, off));
        });
        sum.result();
        f.emit("f32.const", h).emit("f32.div").emit("local.tee", mu);
        f.emit("f32x4.splat").emit("local.set", muV);
        sum.reset();
        laneLoop(f, off, 4 * h, (lanes) => {
          sum.add(lanes, () => {
            load(f, lanes, x, off);
            centred();
            const d = temp(f, "v128", "d");
            f.emit("local.tee", d).emit("local.get", d).emit("f32x4.mul");
          });
        });
        f.emit("f32.const", 1);
        sum.result();
        f.emit("f32.const", h).emit("f32.div").emit("local.get", eps)
          .emit("f32.add").emit("f32.sqrt").emit("f32.div").emit(
            "local.tee",
            rs,
          );
        f.emit("f32x4.splat").emit("local.set", rsV);
        laneLoop(f, off, 4 * h, (lanes) => {
          store(f, lanes, y, off, () => {
            load(f, lanes, x, off);
            centred();
            f.emit("local.get", rsV).emit("f32x4.mul");
            load(f, lanes, gamma, off);
            f.emit("f32x4.mul");
            load(f, lanes, beta, off);
            f.emit("f32x4.add");
          });
        });
        f.emit("local.get", mean).emit("local.get", mu).emit("f32.store");
        f.emit("local.get", rstd).emit("local.get", rs).emit("f32.store");
        advance(f, [x, y], 4 * h);
        advance(f, [mean, rstd], 4);
      });
    },
  );
}

/** Generates `layer_norm_bwd_h<H>`. */
export function generateLayerNormBwd(
  params: LayerNormParams,
  options: GenerateOptions = {},
): F32Module<LayerNormBwd> {
  checkHidden(params);
  const h = params.hidden;
  return buildKernel<LayerNormBwd>(
    `layer_norm_bwd_h${h}`,
    [
      ["x", "i32"],
      ["gamma", "i32"],
      ["mean", "i32"],
      ["rstd", "i32"],
      ["dy", "i32"],
      ["dx", "i32"],
      ["dgamma", "i32"],
      ["dbeta", "i32"],
      ["rows", "i32"],
    ],
    [],
    options,
    (f) => {
      const [x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows] = [
        "x",
        "gamma",
        "mean",
        "rstd",
        "dy",
        "dx",
        "dgamma",
        "dbeta",
        "rows",
      ].map((n) => f.param(n));
      const r = temp(f, "i32", "r");
      const off = temp(f, "i32", "off");
      const muV = temp(f, "v128", "muV");
      const rsV = temp(f, "v128", "rsV");
      const c1 = temp(f, "v128", "meanG");
      const c2 = temp(f, "v128", "meanGXhat");
      const sumG = new LaneReducer(f, "sum");
      const sumGX = new LaneReducer(f, "sum");
      // x̂ and g are recomputed in the second pass: cheaper than storing
      // them, since the row is still in cache.
      const xhat = (lanes: 4 | 1) => {
        load(f, lanes, x, off);
        f.emit("local.get", muV).emit("f32x4.sub").emit("local.get", rsV)
          .emit("f32x4.mul");
      };
      const g = (lanes: 4 | 1) => {
        load(f, lanes, dy, off);
        load(f, lanes, gamma, off);
        f.emit("f32x4.mul");
      };
      const accumulate = (lanes: 4 | 1, into: Local, value: () => void) => {
        store(f, lanes, into, off, () => {
          load(f, lanes, into, off);
          value();
          f.emit("f32x4.add");
        });
      };
      countedLoop(f, r, rows, 1, () => {
        f.emit("local.get", mean).emit("v128.load32_splat").emit(
          "local.set",
          muV,
        );
        f.emit("local.get", rstd).emit("v128.load32_splat").emit(
          "local.set",
          rsV,
        );
        sumG.reset();
        sumGX.reset();
        laneLoop(f, off, 4 * h, (lanes) => {
          const xh = temp(f, "v128", "xhat");
          const gv = temp(f, "v128", "g");
          xhat(lanes);
          f.emit("local.set", xh);
          g(lanes);
          f.emit("local.set", gv);
          sumG.add(lanes, () => f.emit("local.get", gv));
          sumGX.add(lanes, () => {
            f.emit("local.get", gv).emit("local.get", xh).emit("f32x4.mul");
          });
          accumulate(lanes, dgamma, () => {
            load(f, lanes, dy, off);
            f.emit("local.get", xh).emit("f32x4.mul");
          });
          accumulate(lanes, dbeta, () => load(f, lanes, dy, off));
        });
        for (const [reducer, into] of [[sumG, c1], [sumGX, c2]] as const) {
          reducer.result();
          f.emit("f32.const", h).emit("f32.div").emit("f32x4.splat")
            .emit("local.set", into);
        }
        laneLoop(f, off, 4 * h, (lanes) => {
          store(f, lanes, dx, off, () => {
            g(lanes);
            f.emit("local.get", c1).emit("f32x4.sub");
            xhat(lanes);
            f.emit("local.get", c2).emit("f32x4.mul").emit("f32x4.sub")
              .emit("local.get", rsV).emit("f32x4.mul");
          });
        });
        advance(f, [x, dy, dx], 4 * h);
        advance(f, [mean, rstd], 4);
      });
    },
  );
}
