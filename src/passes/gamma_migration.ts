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
 *
 * @module
 */

import {
  type Graph,
  makeNode,
  type Node,
  type ValueType,
  withParts,
} from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { GraphIndex } from "./graph_index.ts";
import {
  type GammaSite,
  gammaSite,
  type MigratedLinear,
} from "./gamma_sites.ts";
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

/** `t` with its elements mapped by `f(value, index)`, same dtype and shape. */
function mapTensor(t: Tensor, f: (v: number, i: number) => number): Tensor {
  return tensor(t.dtype, t.shape, Array.from(t.data, f));
}

/** Names in use, and fresh ones derived from a base. */
class Names {
  private readonly taken: Set<string>;

  constructor(graph: Graph) {
    this.taken = new Set([
      ...graph.inputs,
      ...graph.constants.keys(),
      ...graph.nodes.flatMap((n) => n.outputs),
    ]);
  }

  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name); k++) name = `${base}#${k}`;
    this.taken.add(name);
    return name;
  }
}

/** The rewrite in progress: constants, node inputs and inserted nodes. */
class Rewrite {
  readonly constants: Map<string, Tensor>;
  readonly types: Map<string, ValueType>;
  /** New inputs of rewritten nodes. */
  readonly inputs = new Map<Node, string[]>();
  /** The residual Mul that follows each migrated LayerNorm. */
  readonly after = new Map<Node, Node>();
  readonly names: Names;

  constructor(readonly index: GraphIndex) {
    this.constants = new Map(index.graph.constants);
    this.types = new Map(index.graph.types);
    this.names = new Names(index.graph);
  }

  /** Replaces input `from` of `node` by `to`. */
  rewire(node: Node, from: string, to: string): void {
    const current = this.inputs.get(node) ?? [...node.inputs];
    this.inputs.set(node, current.map((v) => (v === from ? to : v)));
  }

  /** The graph with every rewrite applied and replaced constants dropped. */
  finish(): Graph {
    const nodes = this.index.graph.nodes.flatMap((node) => {
      const inputs = this.inputs.get(node);
      const rewritten = inputs === undefined
        ? node
        : makeNode(node.op, node.name, inputs, node.outputs, node.attrs);
      const mul = this.after.get(node);
      return mul === undefined ? [rewritten] : [rewritten, mul];
    });
    const read = new Set(nodes.flatMap((n) => n.inputs));
    const constants = [...this.constants].filter(([name]) =>
      read.has(name) || !this.index.graph.constants.has(name) ||
      this.index.consumersOf(name).length === 0 ||
      this.index.graph.outputs.includes(name)
    );
    return withParts(this.index.graph, {
      nodes,
      constants,
      types: this.types,
    });
  }
}

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
 * Scales the channel axis of each linear's weight by `s`. A weight only
 * these linears read is rewritten in place (its name, and so checkpoints
 * and exports, stay); a weight others read too gets a scaled copy.
 */
function migrateWeights(
  linears: readonly MigratedLinear[],
  s: readonly number[],
  rw: Rewrite,
): void {
  const mine = new Set(linears.map((l) => l.node));
  const done = new Map<string, string>();
  for (const { node, weight, channelAxis } of linears) {
    let scaled = done.get(weight);
    if (scaled === undefined) {
      const w = rw.constants.get(weight)!;
      const cols = w.shape[1];
      const t = mapTensor(
        w,
        (v, i) => v * s[channelAxis === 0 ? Math.floor(i / cols) : i % cols],
      );
      const shared = rw.index.consumersOf(weight).some((n) => !mine.has(n));
      scaled = shared ? rw.names.fresh(`${weight}.gamma_migrated`) : weight;
      rw.constants.set(scaled, t);
      done.set(weight, scaled);
    }
    if (scaled !== weight) rw.rewire(node, weight, scaled);
  }
}

/** Rewrites one site; returns its note, or the reason it stays. */
function migrateSite(
  site: GammaSite,
  guard: number,
  rw: Rewrite,
): MigratedNorm | string {
  const ln = site.layerNorm;
  const [x, gammaName, betaName] = ln.inputs;
  const gamma = rw.constants.get(gammaName)!;
  const { s, guarded } = factors(gamma, guard);
  if (guarded === s.length) return "every γ_j is 0";
  const scale = rw.names.fresh(`${gammaName}.migrated`);
  rw.constants.set(scale, mapTensor(gamma, (v, j) => v / s[j]));
  const inputs = [x, scale];
  if (betaName !== undefined && betaName !== "") {
    const bias = rw.names.fresh(`${betaName}.migrated`);
    rw.constants.set(
      bias,
      mapTensor(rw.constants.get(betaName)!, (v, j) => v / s[j]),
    );
    inputs.push(bias);
  }
  rw.inputs.set(ln, inputs);
  migrateWeights(site.linears, s, rw);
  const residualScale = rw.names.fresh(`${gammaName}.residual`);
  rw.constants.set(residualScale, tensor(gamma.dtype, gamma.shape, s));
  const y = ln.outputs[0];
  const shortcut = rw.names.fresh(`${y}.gamma_residual`);
  rw.after.set(
    ln,
    makeNode("Mul", `${ln.name}/gamma_residual`, [y, residualScale], [
      shortcut,
    ]),
  );
  rw.types.set(shortcut, rw.types.get(y)!);
  for (const add of site.residuals) rw.rewire(add, y, shortcut);
  return {
    layerNorm: ln.name,
    linears: site.linears.map((l) => l.node.name),
    residualScale,
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
  const rw = new Rewrite(index);
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
