/**
 * The post-training quantisation strategies of the comparison table, each
 * as "f32 forward graph per batch shape → the graph the strategy serves":
 *
 * - `fp32`: the f32 model as it is.
 * - `minmax-w8a8`, `minmax-w6a6`: the `ptq` fake quantisation with MinMax
 *   activation ranges (per-tensor asymmetric) and per-channel weights.
 * - `os-w8a8`, `os-w6a6`: Outlier Suppression — gamma migration, then
 *   token-wise clipping's coarse α search on the migrated graph.
 * - `llm-int8`: LLM.int8() at threshold 6 on every x·W linear (no
 *   calibration: outlier dims are found per batch), in engine ops.
 * - `smoothquant-w8a8`: SmoothQuant (α 0.5) with per-channel max|X_j| over
 *   the calibration set's real tokens, then MinMax W8A8 on the smoothed
 *   graph.
 *
 * Calibrated strategies measure on the calibration batches given; padding
 * rows are left out of every statistic, as in `calibrate.ts`, since they
 * are masked out of attention and never scored.
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import { llmInt8 } from "../passes/llm_int8.ts";
import {
  cachedCompile,
  calibrate,
  type CompileFor,
  type Method,
  type Runner,
} from "./calibrate.ts";
import { fakeQuantise } from "./fake_quant.ts";
import { decomposeLlmInt8 } from "./llm_int8_graph.ts";
import { parsePrecision, PtqError } from "./params.ts";
import { applyTransforms, measureTransforms } from "./transforms.ts";

/** The strategies, in table order. */
export const STRATEGIES = [
  "fp32",
  "minmax-w8a8",
  "minmax-w6a6",
  "os-w8a8",
  "os-w6a6",
  "llm-int8",
  "smoothquant-w8a8",
] as const;

/** A strategy name. */
export type Strategy = (typeof STRATEGIES)[number];

/** Strategies whose result depends on the calibration set. */
export function isCalibrated(strategy: Strategy): boolean {
  return strategy !== "fp32" && strategy !== "llm-int8";
}

/** LLM.int8()'s threshold and SmoothQuant's α in the table. */
export const LLM_INT8_THRESHOLD = 6;
/** SmoothQuant's migration strength in the table. */
export const SMOOTH_ALPHA = 0.5;

/** A prepared strategy: its serving graph per shape and what calibration chose. */
export interface PreparedStrategy {
  /** The graph the strategy serves at a batch shape (cached per shape). */
  readonly compile: CompileFor;
  /** Calibration outcome (α, MSE vs f32 on the calibration set), if any. */
  readonly calibration?: { readonly alpha: number; readonly mse: number };
}

/** Throws unless `name` is a strategy. */
export function parseStrategy(name: string): Strategy {
  if (!(STRATEGIES as readonly string[]).includes(name)) {
    throw new PtqError(
      `Unknown strategy '${name}'; use ${STRATEGIES.join(", ")}.`,
    );
  }
  return name as Strategy;
}

/** Fake quantisation of `base` with calibration by `method` at `precision`. */
async function quantised(
  base: CompileFor,
  batches: readonly BatchEncoding[],
  precision: string,
  method: Method,
  run: Runner,
): Promise<PreparedStrategy> {
  const p = parsePrecision(precision);
  const params = await calibrate(
    base,
    batches,
    p,
    method,
    {},
    undefined,
    run,
  );
  const sites = new Map(params.sites.map((s) => [s.value, s]));
  return {
    compile: cachedCompile((b, s) =>
      fakeQuantise(base(b, s), {
        weightBits: p.weightBits,
        sites,
        alpha: params.alpha,
        method,
      })
    ),
    calibration: { alpha: params.alpha, mse: params.mse },
  };
}

/**
 * Prepares `strategy` on the f32 model `f32` (cached per shape),
 * calibrating on `batches` where the strategy calibrates. Each measuring
 * pass gets its own runner from `newRunner`, since an engine runner keeps
 * only the values named when it first ran a graph.
 */
export async function prepareStrategy(
  strategy: Strategy,
  f32: CompileFor,
  batches: readonly BatchEncoding[],
  newRunner: () => Runner,
): Promise<PreparedStrategy> {
  switch (strategy) {
    case "fp32":
      return { compile: f32 };
    case "minmax-w8a8":
    case "minmax-w6a6":
      return await quantised(
        f32,
        batches,
        strategy.slice(7),
        "minmax",
        newRunner(),
      );
    case "os-w8a8":
    case "os-w6a6": {
      const migrated = cachedCompile((b, s) =>
        applyTransforms(f32(b, s), { gammaMigration: true })
      );
      return await quantised(
        migrated,
        batches,
        strategy.slice(3),
        "token-clipping",
        newRunner(),
      );
    }
    case "llm-int8":
      return {
        compile: cachedCompile((b, s) =>
          decomposeLlmInt8(
            llmInt8(f32(b, s), { threshold: LLM_INT8_THRESHOLD }).graph,
          )
        ),
      };
    case "smoothquant-w8a8": {
      const transforms = await measureTransforms(f32, batches, newRunner(), {
        gammaMigration: false,
        smoothAlpha: SMOOTH_ALPHA,
      });
      const smoothed = cachedCompile((b, s) =>
        applyTransforms(f32(b, s), transforms)
      );
      return await quantised(
        smoothed,
        batches,
        "w8a8",
        "minmax",
        newRunner(),
      );
    }
  }
}
