/**
 * `smooth-quant` (SmoothQuant, NUMERICS.md §4): at every LayerNorm → linear
 * site, Y = (X·diag(s)⁻¹)(diag(s)·W) with
 * s_j = max|X_j|^α / max|W_j|^(1−α), moving part of the activation's
 * per-channel range into the weights, where per-channel quantisation
 * absorbs it. max|X_j| comes from calibration ({@linkcode SmoothQuantStats},
 * see `smooth_quant_stats.ts`); max|W_j| is taken over every linear reading
 * the site (Q, K and V together), since they share the one X/s.
 *
 * The rewrite, per site (the sites and the rewrite are gamma migration's,
 * `gamma_sites.ts` and `layer_norm_rescale.ts`):
 * the LayerNorm's γ and β are divided by s (so it outputs X/s), each
 * linear's weight channel j is multiplied by s_j (row j of W for x·W), and
 * because BERT is post-LN — the residual Add reads the LayerNorm output as
 * its shortcut — a Mul by s restores X on the shortcut:
 * ```text
 * %y = LayerNorm(x, g, b); %q = MatMul(y, wq); %r = Add(attn, y)
 * →
 * %y = LayerNorm(x, g.smoothed, b.smoothed)    (γ/s, β/s)
 * %y.smooth_residual = Mul(y, g.smooth_scale)  (s)
 * %q = MatMul(y, wq)                           (rows of wq times s)
 * %r = Add(attn, y.smooth_residual)
 * ```
 * In f32 this changes no value past the linears and the shortcut beyond
 * rounding. A channel with max|X_j| = 0 or max|W_j| = 0 keeps s_j = 1 (no
 * range to balance, and no zero to divide by).
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { type GammaSite, gammaSite } from "./gamma_sites.ts";
import { GraphIndex } from "./graph_index.ts";
import {
  channelOf,
  type RescaleNames,
  SiteRewrite,
} from "./layer_norm_rescale.ts";
import type { Pass } from "./pass.ts";

/** SmoothQuant's default migration strength α. */
export const DEFAULT_SMOOTH_ALPHA = 0.5;

/**
 * Calibration statistics: per-channel max|X_j| of each LayerNorm output
 * that feeds linears, by value name.
 */
export type SmoothQuantStats = ReadonlyMap<string, ArrayLike<number>>;

/** Options of {@linkcode smoothQuant}. */
export interface SmoothQuantOptions {
  /** Migration strength α, strictly between 0 and 1 (default 0.5). */
  readonly alpha?: number;
}

/** One smoothed LayerNorm. */
export interface SmoothedNorm {
  /** LayerNorm node name. */
  readonly layerNorm: string;
  /** Names of the linears whose weights absorbed s. */
  readonly linears: readonly string[];
  /** The constant holding s (the shortcut's scale). */
  readonly scale: string;
}

/** What {@linkcode smoothQuant} did. */
export interface SmoothQuantResult {
  /** The rewritten graph. */
  readonly graph: Graph;
  /** LayerNorms smoothed, in graph order. */
  readonly smoothed: readonly SmoothedNorm[];
  /** LayerNorms left alone, with the reason. */
  readonly skipped: readonly { layerNorm: string; reason: string }[];
}

/** What SmoothQuant names the constants, copies and Mul it adds. */
const SMOOTH_NAMES: RescaleNames = {
  params: "smoothed",
  weights: "smoothed",
  scale: "smooth_scale",
  shortcut: "smooth_residual",
};

/** Checks α ∈ (0, 1), SmoothQuant's range (0 and 1 move nothing or everything). */
function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) {
    throw new RangeError(
      `SmoothQuant α must lie strictly between 0 and 1, got ${alpha}.`,
    );
  }
}

/** max|W_j| over the channel axis of every linear of the site. */
function weightMaxima(site: GammaSite, rw: SiteRewrite): Float64Array {
  const max = new Float64Array(site.width);
  for (const linear of site.linears) {
    const w = rw.constants.get(linear.weight)!;
    w.data.forEach((v, i) => {
      const j = channelOf(linear, w.shape[1], i);
      max[j] = Math.max(max[j], Math.abs(v));
    });
  }
  return max;
}

/** The smoothing factors s_j of the module doc. */
export function smoothingFactors(
  activationMax: ArrayLike<number>,
  weightMax: ArrayLike<number>,
  alpha: number,
): number[] {
  checkAlpha(alpha);
  return Array.from(activationMax, (x, j) => {
    const w = weightMax[j];
    return x > 0 && w > 0 ? Math.pow(x, alpha) / Math.pow(w, 1 - alpha) : 1;
  });
}

/**
 * Smooths every LayerNorm → linear site of `graph` (fused, typed) that
 * `stats` measured; see the module doc. Throws on α outside (0, 1) and on
 * statistics whose width differs from the site's.
 */
export function smoothQuant(
  graph: Graph,
  stats: SmoothQuantStats,
  options: SmoothQuantOptions = {},
): SmoothQuantResult {
  const alpha = options.alpha ?? DEFAULT_SMOOTH_ALPHA;
  checkAlpha(alpha);
  const index = new GraphIndex(graph);
  const rw = new SiteRewrite(index);
  const smoothed: SmoothedNorm[] = [];
  const skipped: { layerNorm: string; reason: string }[] = [];
  for (const node of graph.nodes) {
    if (node.op !== "LayerNorm") continue;
    const site = gammaSite(index, node);
    const xMax = stats.get(node.outputs[0]);
    if ("reason" in site || xMax === undefined) {
      const reason = "reason" in site ? site.reason : "no calibration stats";
      skipped.push({ layerNorm: node.name, reason });
      continue;
    }
    if (xMax.length !== site.width) {
      throw new RangeError(
        `SmoothQuant stats for '${
          node.outputs[0]
        }' have ${xMax.length} channels, the LayerNorm ${site.width}.`,
      );
    }
    const s = smoothingFactors(xMax, weightMaxima(site, rw), alpha);
    smoothed.push({
      layerNorm: node.name,
      linears: site.linears.map((l) => l.node.name),
      scale: rw.rescale(site, s, SMOOTH_NAMES),
    });
  }
  return { graph: rw.finish(), smoothed, skipped };
}

/** The `smooth-quant` pass (after `fuse-layer-norm`) with fixed statistics. */
export function smoothQuantPass(
  stats: SmoothQuantStats,
  options: SmoothQuantOptions = {},
): Pass {
  checkAlpha(options.alpha ?? DEFAULT_SMOOTH_ALPHA);
  return {
    name: "smooth-quant",
    summary:
      "SmoothQuant: s = max|X|^α / max|W|^(1−α); LayerNorm ÷ s, linears and shortcut × s",
    requires: ["types", "layer-norm-fused"],
    provides: ["smooth-quantized"],
    run: (graph) => smoothQuant(graph, stats, options).graph,
  };
}
