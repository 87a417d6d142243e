/**
 * Post-training calibration of activation clipping ranges (Outlier
 * Suppression setting, NUMERICS.md §4):
 *
 * - `minmax`: each linear input's range is the min/max over the real tokens
 *   of the calibration set.
 * - `token-clipping` (coarse stage of Token-Wise Clipping): one global ratio
 *   α, searched downward from 1.0 in steps of 0.01 (10 candidates at ≥ 8
 *   activation bits, 30 below); for a candidate each activation's hi is the
 *   largest token-max ≤ quantile(token-maxes, α) and lo the smallest
 *   token-min ≥ quantile(token-mins, 1 − α); the score is the MSE between the
 *   fake-quantised model's outputs and the f32 outputs on the calibration
 *   set; the lowest score wins (ties keep the larger α). α = 1 is MinMax, so
 *   the search never does worse than MinMax on the calibration set. The fine
 *   stage (LSQ+ step-size learning) is `lsq_train.ts`.
 *
 * Token extremes and the MSE see real tokens only (padding rows excluded;
 * pooler/classifier inputs have one row per sentence).
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import { padBatch } from "../../runtime/data/encoding.ts";
import type { GlueExample } from "../../runtime/data/glue.ts";
import { Rng } from "../../runtime/data/rng.ts";
import type { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import {
  findLinearInputs,
  type LinearInput,
} from "../analysis/linear_inputs.ts";
import { feedsFor } from "../analysis/model_feeds.ts";
import { rowTokens } from "../analysis/outlier_report.ts";
import { referenceRunner, type Runner } from "../analysis/graph_runner.ts";
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { fakeQuantise } from "./fake_quant.ts";
import {
  activationParams,
  type Precision,
  PtqError,
  type QuantParams,
  type SiteParams,
} from "./params.ts";

/** The calibration methods. */
export const METHODS = ["minmax", "token-clipping"] as const;
/** A calibration method. */
export type Method = (typeof METHODS)[number];

/** Default number of calibration samples. */
export const DEFAULT_SAMPLES = 256;

/** `n` distinct indices of `0 … total−1` chosen by `seed`, ascending. */
export function chooseSamples(
  total: number,
  n: number,
  seed: number,
): number[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new PtqError(
      `The sample count must be a positive integer, got ${n}.`,
    );
  }
  if (n > total) {
    throw new PtqError(
      `Asked for ${n} calibration samples but the data has only ${total}; pass --samples ${total} or fewer.`,
    );
  }
  return new Rng(seed).permutation(total).slice(0, n).sort((a, b) => a - b);
}

/** Tokenised, padded batches of `examples` (lengths padded to a multiple of 16). */
export function calibrationBatches(
  examples: readonly GlueExample[],
  tokenizer: BertTokenizer,
  batchSize = 16,
  maxLength = 128,
): BatchEncoding[] {
  const batches: BatchEncoding[] = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const rows = examples.slice(i, i + batchSize).map((e) =>
      tokenizer.encode(e.textA, e.textB, { maxLength })
    );
    const longest = Math.max(...rows.map((r) => r.inputIds.length));
    const length = Math.min(maxLength, Math.ceil(longest / 16) * 16);
    batches.push(padBatch(rows, length, tokenizer.vocab.special.pad));
  }
  return batches;
}

/** Compiles the f32 forward graph for one batch shape. */
export type CompileFor = (batch: number, seq: number) => Graph;

export {
  engineRunner,
  referenceRunner,
  type Runner,
} from "../analysis/graph_runner.ts";

/** Per-site token extremes and the f32 outputs, from one f32 pass. */
export interface CalibrationStats {
  /** The linear inputs, in graph order. */
  readonly sites: readonly LinearInput[];
  /** Per site: max over channels of every real token, ascending. */
  readonly tokenMax: ReadonlyMap<string, Float64Array>;
  /** Per site: min over channels of every real token, ascending. */
  readonly tokenMin: ReadonlyMap<string, Float64Array>;
  /** The f32 outputs of each batch. */
  readonly reference: readonly Map<string, Tensor>[];
}

/** A per-shape cache of `compile`. */
export function cachedCompile(compile: CompileFor): CompileFor {
  const graphs = new Map<string, Graph>();
  return (b, s) => {
    const key = `${b}x${s}`;
    let g = graphs.get(key);
    if (g === undefined) graphs.set(key, g = compile(b, s));
    return g;
  };
}

/** Runs the f32 model over `batches`, collecting token extremes and outputs. */
export async function collectStats(
  compile: CompileFor,
  batches: readonly BatchEncoding[],
  run: Runner = referenceRunner,
): Promise<CalibrationStats> {
  const maxes = new Map<string, number[]>();
  const mins = new Map<string, number[]>();
  const reference: Map<string, Tensor>[] = [];
  let sites: LinearInput[] = [];
  for (const batch of batches) {
    const graph = compile(batch.batchSize, batch.seqLength);
    sites = findLinearInputs(graph);
    const values = await run(
      graph,
      feedsFor(graph, batch),
      sites.map((s) => s.value),
    );
    for (const site of sites) {
      const t = values.get(site.value)!;
      const data = t.data as Float32Array;
      const width = t.shape[t.shape.length - 1];
      const rows = data.length / width;
      const token = rowTokens(batch, rows);
      const mx = maxes.get(site.value) ?? [];
      const mn = mins.get(site.value) ?? [];
      for (let r = 0; r < rows; r++) {
        if (token(r) === undefined) continue;
        let hi = -Infinity, lo = Infinity;
        for (let c = r * width; c < (r + 1) * width; c++) {
          if (data[c] > hi) hi = data[c];
          if (data[c] < lo) lo = data[c];
        }
        mx.push(hi);
        mn.push(lo);
      }
      maxes.set(site.value, mx);
      mins.set(site.value, mn);
    }
    reference.push(
      new Map(graph.outputs.map((o) => [o, values.get(o)!])),
    );
  }
  const sorted = (m: Map<string, number[]>) =>
    new Map(
      [...m].map(([k, v]) => [k, Float64Array.from(v).sort()]),
    );
  return {
    sites,
    tokenMax: sorted(maxes),
    tokenMin: sorted(mins),
    reference,
  };
}

/** Each site's [lo, hi] at clipping ratio α (α = 1: MinMax). */
export function clippedRanges(
  stats: CalibrationStats,
  alpha: number,
): Map<string, { lo: number; hi: number }> {
  if (!(alpha > 0 && alpha <= 1)) {
    throw new PtqError(`The clipping ratio α must be in (0, 1], got ${alpha}.`);
  }
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const site of stats.sites) {
    const mx = stats.tokenMax.get(site.value)!;
    const mn = stats.tokenMin.get(site.value)!;
    if (mx.length === 0) {
      throw new PtqError(`No real tokens reached '${site.value}'.`);
    }
    const n = mx.length;
    const hi = mx[Math.floor(alpha * (n - 1) + 1e-9)];
    const lo = mn[Math.ceil((1 - alpha) * (n - 1) - 1e-9)];
    ranges.set(site.value, { lo, hi });
  }
  return ranges;
}

/** Site parameters from ranges at `precision`. */
export function siteParams(
  stats: CalibrationStats,
  ranges: ReadonlyMap<string, { lo: number; hi: number }>,
  precision: Precision,
): SiteParams[] {
  return stats.sites.map((s) => {
    const r = ranges.get(s.value)!;
    return {
      value: s.value,
      layer: s.layer,
      role: s.role,
      ...activationParams(r.lo, r.hi, precision.activationBits),
    };
  });
}

/** Mean squared error of `outputs` vs `reference` over real-token rows. */
export function outputError(
  batch: BatchEncoding,
  reference: ReadonlyMap<string, Tensor>,
  outputs: ReadonlyMap<string, Tensor>,
): { sum: number; count: number } {
  let sum = 0, count = 0;
  for (const [name, ref] of reference) {
    if (ref.dtype !== "f32") continue;
    const got = outputs.get(name)!.data as Float32Array;
    const want = ref.data as Float32Array;
    const width = ref.shape.length === 0 ? 1 : ref.shape[ref.shape.length - 1];
    const rows = want.length / width;
    const token = rowTokens(batch, rows);
    for (let r = 0; r < rows; r++) {
      if (token(r) === undefined) continue;
      for (let c = r * width; c < (r + 1) * width; c++) {
        const d = got[c] - want[c];
        sum += d * d;
        count++;
      }
    }
  }
  return { sum, count };
}

/** The outputs MSE vs f32 of the model quantised with `sites`. */
export async function quantisedMse(
  compile: CompileFor,
  batches: readonly BatchEncoding[],
  stats: CalibrationStats,
  precision: Precision,
  sites: readonly SiteParams[],
  run: Runner = referenceRunner,
  quantisedFor?: CompileFor,
): Promise<number> {
  const byValue = new Map(sites.map((s) => [s.value, s]));
  let sum = 0, count = 0;
  for (const [i, batch] of batches.entries()) {
    const graph = quantisedFor?.(batch.batchSize, batch.seqLength) ??
      fakeQuantise(compile(batch.batchSize, batch.seqLength), {
        weightBits: precision.weightBits,
        sites: byValue,
      });
    const out = await run(graph, feedsFor(graph, batch), []);
    const e = outputError(batch, stats.reference[i], out);
    sum += e.sum;
    count += e.count;
  }
  return count === 0 ? 0 : sum / count;
}

/** The α candidates: 1.00, 0.99, … (10 at ≥ 8 activation bits, 30 below). */
export function alphaCandidates(activationBits: number): number[] {
  const n = activationBits >= 8 ? 10 : 30;
  return Array.from({ length: n }, (_, k) => Number((1 - k / 100).toFixed(2)));
}

/** Calibrates `batches` with `method`; `onCandidate` sees the search. */
export async function calibrate(
  compileF32: CompileFor,
  batches: readonly BatchEncoding[],
  precision: Precision,
  method: Method,
  calibration: Record<string, unknown> = {},
  onCandidate?: (alpha: number, mse: number) => void,
  run: Runner = referenceRunner,
): Promise<QuantParams> {
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new PtqError(
      `Unknown calibration method '${method}'; use ${METHODS.join(" or ")}.`,
    );
  }
  const compile = cachedCompile(compileF32);
  const stats = await collectStats(compile, batches, run);
  const alphas = method === "minmax" ? [1] : alphaCandidates(
    precision.activationBits,
  );
  const candidates: { alpha: number; mse: number }[] = [];
  let best: { alpha: number; mse: number; sites: SiteParams[] } | undefined;
  for (const alpha of alphas) {
    const sites = siteParams(stats, clippedRanges(stats, alpha), precision);
    // A graph per (α, shape): cached so each batch shape builds it once.
    const quantised = cachedCompile((b, s) =>
      fakeQuantise(compile(b, s), {
        weightBits: precision.weightBits,
        sites: new Map(sites.map((x) => [x.value, x])),
      })
    );
    const mse = await quantisedMse(
      compile,
      batches,
      stats,
      precision,
      sites,
      run,
      quantised,
    );
    candidates.push({ alpha, mse });
    onCandidate?.(alpha, mse);
    if (best === undefined || mse < best.mse) best = { alpha, mse, sites };
  }
  return {
    format: "tessera-ptq-1",
    precision,
    method,
    alpha: best!.alpha,
    candidates: method === "minmax" ? [] : candidates,
    mse: best!.mse,
    calibration,
    sites: best!.sites,
  };
}
