/**
 * The rewrite gamma migration and SmoothQuant share: at a post-LN site
 * (`gamma_sites.ts`), divide the LayerNorm's γ and β by a per-channel s,
 * multiply channel j of every linear's weight by s_j, and restore the
 * LayerNorm output on the residual shortcut with a Mul by s. Since
 * s ⊙ (LN(x)/s) = LN(x), no value past the linears and the shortcut changes
 * beyond f32 rounding; the passes differ only in how they choose s and in
 * the names they give what they add.
 *
 * ```text
 * %y = LayerNorm(x, g, b); %q = MatMul(y, wq); %r = Add(attn, y)
 * →
 * %y = LayerNorm(x, g.<params>, b.<params>)   (γ/s, β/s)
 * %y.<shortcut> = Mul(y, g.<scale>)           (s)
 * %q = MatMul(y, wq)                          (channel j of wq times s_j)
 * %r = Add(attn, y.<shortcut>)
 * ```
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
import type { GammaSite, MigratedLinear } from "./gamma_sites.ts";
import type { GraphIndex } from "./graph_index.ts";

/** Name suffixes of what a rescale adds (each made unique with `#k`). */
export interface RescaleNames {
  /** Suffix of the new γ/s and β/s constants. */
  readonly params: string;
  /** Suffix of a scaled copy of a weight other nodes read too. */
  readonly weights: string;
  /** Suffix (on γ's name) of the shortcut's scale constant s. */
  readonly scale: string;
  /** Suffix of the shortcut value; the Mul is `<LayerNorm>/<shortcut>`. */
  readonly shortcut: string;
}

/** `t` with its elements mapped by `f(value, index)`, same dtype and shape. */
function mapTensor(t: Tensor, f: (v: number, i: number) => number): Tensor {
  return tensor(t.dtype, t.shape, Array.from(t.data, f));
}

/**
 * The LayerNorm channel of flat element `i` of `linear`'s 2-D weight with
 * `cols` columns: its row for `x·W`, its column for Gemm with transB.
 */
export function channelOf(
  linear: MigratedLinear,
  cols: number,
  i: number,
): number {
  return linear.channelAxis === 0 ? Math.floor(i / cols) : i % cols;
}

/**
 * A graph rewrite in progress over many sites: constants, rewired node
 * inputs, the Mul inserted after each LayerNorm, and fresh value names.
 */
export class SiteRewrite {
  /** Constants as rewritten so far (sites read weights from here). */
  readonly constants: Map<string, Tensor>;
  private readonly types: Map<string, ValueType>;
  private readonly inputs = new Map<Node, string[]>();
  private readonly after = new Map<Node, Node>();
  private readonly taken: Set<string>;

  /** Starts an empty rewrite of `index.graph`. */
  constructor(readonly index: GraphIndex) {
    const g = index.graph;
    this.constants = new Map(g.constants);
    this.types = new Map(g.types);
    this.taken = new Set([
      ...g.inputs,
      ...g.constants.keys(),
      ...g.nodes.flatMap((n) => n.outputs),
    ]);
  }

  /** A value name not yet in use, derived from `base`. */
  private fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name); k++) name = `${base}#${k}`;
    this.taken.add(name);
    return name;
  }

  /** Replaces input `from` of `node` by `to`. */
  private rewire(node: Node, from: string, to: string): void {
    const current = this.inputs.get(node) ?? [...node.inputs];
    this.inputs.set(node, current.map((v) => (v === from ? to : v)));
  }

  /**
   * Rescales `site` by `s` (see the module doc); returns the name of the
   * shortcut's scale constant.
   */
  rescale(site: GammaSite, s: readonly number[], names: RescaleNames): string {
    const ln = site.layerNorm;
    const [x, gammaName, betaName] = ln.inputs;
    const inputs = [x];
    for (const name of [gammaName, betaName]) {
      if (name === undefined || name === "") continue;
      const divided = this.fresh(`${name}.${names.params}`);
      this.constants.set(
        divided,
        mapTensor(this.constants.get(name)!, (v, j) => v / s[j]),
      );
      inputs.push(divided);
    }
    this.inputs.set(ln, inputs);
    this.scaleWeights(site.linears, s, names.weights);
    const dtype = this.constants.get(gammaName)!.dtype;
    const scale = this.fresh(`${gammaName}.${names.scale}`);
    this.constants.set(scale, tensor(dtype, [site.width], s));
    const y = ln.outputs[0];
    const shortcut = this.fresh(`${y}.${names.shortcut}`);
    this.after.set(
      ln,
      makeNode("Mul", `${ln.name}/${names.shortcut}`, [y, scale], [shortcut]),
    );
    this.types.set(shortcut, this.types.get(y)!);
    for (const add of site.residuals) this.rewire(add, y, shortcut);
    return scale;
  }

  /**
   * Multiplies the channel axis of each linear's weight by `s`. A weight
   * only these linears read is rewritten under its own name (so checkpoints
   * and exports keep it); one others read too gets a scaled copy.
   */
  private scaleWeights(
    linears: readonly MigratedLinear[],
    s: readonly number[],
    suffix: string,
  ): void {
    const mine = new Set(linears.map((l) => l.node));
    const done = new Map<string, string>();
    for (const linear of linears) {
      const { node, weight } = linear;
      let scaled = done.get(weight);
      if (scaled === undefined) {
        const w = this.constants.get(weight)!;
        const t = mapTensor(
          w,
          (v, i) => v * s[channelOf(linear, w.shape[1], i)],
        );
        const shared = this.index.consumersOf(weight).some((n) => !mine.has(n));
        scaled = shared ? this.fresh(`${weight}.${suffix}`) : weight;
        this.constants.set(scaled, t);
        done.set(weight, scaled);
      }
      if (scaled !== weight) this.rewire(node, weight, scaled);
    }
  }

  /** The graph with every rewrite applied and constants nothing reads any more dropped. */
  finish(): Graph {
    const g = this.index.graph;
    const nodes = g.nodes.flatMap((node) => {
      const inputs = this.inputs.get(node);
      const rewritten = inputs === undefined
        ? node
        : makeNode(node.op, node.name, inputs, node.outputs, node.attrs);
      const mul = this.after.get(node);
      return mul === undefined ? [rewritten] : [rewritten, mul];
    });
    const read = new Set(nodes.flatMap((n) => n.inputs));
    // Keep what was never read (it may be a checkpoint entry) and outputs.
    const constants = [...this.constants].filter(([name]) =>
      read.has(name) || !g.constants.has(name) ||
      this.index.consumersOf(name).length === 0 || g.outputs.includes(name)
    );
    return withParts(g, { nodes, constants, types: this.types });
  }
}
