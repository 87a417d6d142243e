/**
 * A small graph editor for the quantisation passes: new nodes typed by
 * their operator's rule as they are made, inserted before a node or in
 * place of one, and inputs redirected — then one immutable graph out.
 *
 * @module
 */

import {
  type Attrs,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  typeOfTensor,
  type ValueType,
} from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { getOp } from "../ops/mod.ts";

/** Collects edits against the nodes of one graph; {@linkcode GraphEditor.build} applies them. */
export class GraphEditor {
  private readonly types: Map<string, ValueType>;
  private readonly taken: Set<string>;
  private readonly current = new Map<Node, Node>();
  private readonly before = new Map<Node, Node[]>();
  private readonly expanded = new Map<Node, Node[]>();
  private readonly constants: Map<string, Tensor>;

  /** Starts editing `graph`. */
  constructor(readonly graph: Graph) {
    this.types = new Map(graph.types);
    this.constants = new Map(graph.constants);
    this.taken = new Set([
      ...graph.inputs,
      ...graph.constants.keys(),
      ...graph.nodes.flatMap((n) => [n.name, ...n.outputs]),
    ]);
  }

  /** A name not taken yet: `base`, else `base_2`, `base_3`, … */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }

  /** Adds constant `t` under a fresh name from `base`; returns the name. */
  constant(base: string, t: Tensor): string {
    const name = this.fresh(base);
    this.constants.set(name, t);
    return name;
  }

  /** The type of a value (constants included). */
  typeOf(value: string): ValueType | undefined {
    const t = this.constants.get(value);
    return t === undefined ? this.types.get(value) : typeOfTensor(t);
  }

  /**
   * Makes node `op` named `name` (made unique), its outputs named
   * `outputs` (made unique; default: the node's name), typed by its rule.
   */
  make(
    op: string,
    name: string,
    inputs: readonly string[],
    attrs: Attrs = {},
    outputs: readonly string[] = [name],
  ): Node {
    const nodeName = this.fresh(name);
    const outs = outputs.map((o) => o === name ? nodeName : this.fresh(o));
    return this.typed(makeNode(op, nodeName, inputs, outs, attrs));
  }

  /** Types the outputs of `node` by its operator's rule; returns it. */
  typed(node: Node): Node {
    const types = getOp(node.op).infer({
      node,
      inputs: node.inputs.map((i) => i === "" ? undefined : this.typeOf(i)),
      values: node.inputs.map((i) => this.constants.get(i)),
    });
    node.outputs.forEach((o, k) => this.types.set(o, types[k]));
    return node;
  }

  /** The node as edited so far (a redirected copy, or itself). */
  latest(node: Node): Node {
    return this.current.get(node) ?? node;
  }

  /** Replaces the inputs of `node` equal to a key of `map` by its value. */
  redirect(node: Node, map: ReadonlyMap<string, string>): void {
    const n = this.latest(node);
    if (!n.inputs.some((i) => map.has(i))) return;
    const inputs = n.inputs.map((i) => map.get(i) ?? i);
    this.current.set(node, makeNode(n.op, n.name, inputs, n.outputs, n.attrs));
  }

  /** Places `nodes` just before `anchor`. */
  insertBefore(anchor: Node, nodes: readonly Node[]): void {
    this.before.set(anchor, [...(this.before.get(anchor) ?? []), ...nodes]);
  }

  /** Puts `nodes` where `anchor` stands (after anything inserted before it). */
  replace(anchor: Node, nodes: readonly Node[]): void {
    this.expanded.set(anchor, [...nodes]);
  }

  /** The edited graph. */
  build(): Graph {
    const nodes = this.graph.nodes.flatMap((n) => [
      ...(this.before.get(n) ?? []),
      ...(this.expanded.get(n) ?? [this.latest(n)]),
    ]);
    return makeGraph({
      ...this.graph,
      nodes,
      constants: this.constants,
      types: this.types,
    });
  }
}
