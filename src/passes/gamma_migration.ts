/**
 * `gamma-migration` (Outlier Suppression, NUMERICS.md §4): every post-LN
 * LayerNorm y = γ ⊙ x̂ + β becomes the non-scaling x' = x̂ + β/γ; γ moves
 * into the linears that read it (W' = diag(γ)·W for y·W, i.e. row j of W
 * times γ_j) and into the residual shortcut (γ ⊙ x'). Since γ ⊙ x' = y, every
 * value past the linears and the shortcut is unchanged (exact up to f32
 * rounding), while the activations the linears quantise lose γ's channel
 * scaling — the outlier channels OS found γ amplifies.
 *
 * Placement follows OS: a LayerNorm migrates when its readers are linears
 * and at least one residual Add — the embedding LN and each output LN into
 * the next Q/K/V and attention shortcut, each attention LN into FFN1 and
 * the FFN shortcut. The last output LN feeds the pooler or a head, has no
 * shortcut, and stays (see `gamma_sites.ts` for every reason to skip).
 *
 * Guard: a channel with |γ_j| < guard·max|γ| keeps its γ_j in the LayerNorm
 * (migration factor 1), so β_j/γ_j can neither divide by zero nor create a
 * huge offset in the activation migration is meant to shrink; the rewrite
 * stays exact for every channel.
 *
 * Before (`tests/passes/golden/gamma-migration.before.ir` has the whole graph):
 * ```text
 * %y = LayerNorm(x, g, b); %q = MatMul(y, wq); %r = Add(attn, y)
 * ```
 * After:
 * ```text
 * %y = LayerNorm(x, g.migrated, b.migrated)   (scale 1, bias β/γ)
 * %y.gamma_residual = Mul(y, g.residual)       (γ, a trainable constant)
 * %q = MatMul(y, wq)                           (wq rows scaled by γ)
 * %r = Add(attn, y.gamma_residual)
 * ```
 * The migrated weights, the LayerNorm bias and the residual γ are ordinary
 * float constants, so `compileTraining` trains them like any weight.
 * The rewrite is `layer_norm_rescale.ts`'s with s = γ, shared with
 * SmoothQuant.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { GraphIndex } from "./graph_index.ts";
import { type GammaSite, gammaSite } from "./gamma_sites.ts";
import { type RescaleNames, SiteRewrite } from "./layer_norm_rescale.ts";
import type { Pass } from "./pass.ts";

/** Default guard: channels with |γ_j| below this fraction of max|γ| stay. */
export const DEFAULT_GAMMA_GUARD = 1e-3;

/** One migrated LayerNorm. */
export interface MigratedNorm {
  /** LayerNorm node name. */
  readonly layerNorm: string;
  /** Names of the linears that absorbed γ. */
  readonly linears: readonly string[];
  /** The residual scale constant (γ, trainable). */
  readonly residualScale: string;
  /** Channels the guard kept in the LayerNorm. */
  readonly guarded: number;
}

/** What the pass did and did not do. */
export interface GammaMigration {
  /** The rewritten graph. */
  readonly graph: Graph;
  /** LayerNorms migrated, in graph order. */
  readonly migrated: readonly MigratedNorm[];
  /** LayerNorms left as they were, with the reason. */
  readonly skipped: readonly { layerNorm: string; reason: string }[];
}

/** What gamma migration names the constants, copies and Mul it adds. */
const GAMMA_NAMES: RescaleNames = {
  params: "migrated",
  weights: "gamma_migrated",
  scale: "residual",
  shortcut: "gamma_residual",
};

/**
 * Per-channel migration factors s: γ_j, or 1 where the guard keeps γ_j in
 * the LayerNorm (|γ_j| < guard·max|γ|, or γ_j = 0); with the guarded count.
 */
function factors(
  gamma: Tensor,
  guard: number,
): { s: number[]; guarded: number } {
  const g = Array.from(gamma.data);
  const floor = guard * Math.max(...g.map(Math.abs));
  const keep = g.map((v) => v === 0 || Math.abs(v) < floor);
  return {
    s: g.map((v, j) => (keep[j] ? 1 : v)),
    guarded: keep.filter((k) => k).length,
  };
}

/**
 * Rewrites one site with s = γ (1 where guarded), so the LayerNorm keeps
 * scale γ/s and bias β/s; returns its note, or the reason it stays.
 */
function migrateSite(
  site: GammaSite,
  guard: number,
  rw: SiteRewrite,
): MigratedNorm | string {
  const gamma = rw.constants.get(site.layerNorm.inputs[1])!;
  const { s, guarded } = factors(gamma, guard);
  if (guarded === s.length) return "every γ_j is 0";
  return {
    layerNorm: site.layerNorm.name,
    linears: site.linears.map((l) => l.node.name),
    residualScale: rw.rescale(site, s, GAMMA_NAMES),
    guarded,
  };
}

/**
 * Migrates the γ of every eligible LayerNorm of `graph` (fused, typed);
 * see the module doc. `guard` is the relative |γ_j| floor.
 */
export function migrateGamma(
  graph: Graph,
  guard = DEFAULT_GAMMA_GUARD,
): GammaMigration {
  const index = new GraphIndex(graph);
  const rw = new SiteRewrite(index);
  const migrated: MigratedNorm[] = [];
  const skipped: { layerNorm: string; reason: string }[] = [];
  for (const node of graph.nodes) {
    if (node.op !== "LayerNorm") continue;
    const site = gammaSite(index, node);
    const done = "reason" in site ? site.reason : migrateSite(site, guard, rw);
    if (typeof done === "string") {
      skipped.push({ layerNorm: node.name, reason: done });
    } else migrated.push(done);
  }
  return { graph: rw.finish(), migrated, skipped };
}

/** The `gamma-migration` pass (after `fuse-layer-norm`), with relative guard `guard`. */
export function gammaMigrationPass(guard = DEFAULT_GAMMA_GUARD): Pass {
  return {
    name: "gamma-migration",
    summary:
      "Outlier Suppression: LayerNorm γ → following linears and residual shortcut",
    requires: ["types", "layer-norm-fused"],
    provides: ["gamma-migrated"],
    run: (graph) => migrateGamma(graph, guard).graph,
  };
}
