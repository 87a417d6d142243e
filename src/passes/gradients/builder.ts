/**
 * The backward graph under construction: new nodes typed as they are
 * emitted, constants shared by content, and names kept unique.
 *
 * A gradient is first computed under a scratch name (its node's name) and
 * renamed to `${v}@grad` once it is known to be the whole gradient of `v`
 * ({@linkcode BackwardBuilder.claim}); nodes are frozen only at the end, so
 * a rename reaches every reader.
 *
 * @module
 */

import {
  type Attrs,
  type Graph,
  makeNode,
  type Node,
  typeOfTensor,
  type ValueType,
} from "../../ir/graph.ts";
import type { Tensor } from "../../ir/tensor.ts";
import { getOp } from "../../ops/mod.ts";
import { AutodiffError } from "./rule.ts";

/** A backward node whose output names may still change. */
interface Draft {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: string[];
  readonly attrs: Attrs;
}

/** Builds the backward nodes and constants of one autodiff run. */
export class BackwardBuilder {
  /** Forward constants plus the ones the backward graph adds. */
  readonly constants: Map<string, Tensor>;
  private readonly drafts: Draft[] = [];
  private readonly valueTypes: Map<string, ValueType>;
  private readonly producers = new Map<string, Draft>();
  private readonly renamed = new Map<string, string>();
  private readonly finals = new Set<string>();
  private readonly taken: Set<string>;
  private readonly byContent = new Map<string, string>();

  /** Starts from the forward graph. */
  constructor(graph: Graph) {
    this.constants = new Map(graph.constants);
    this.valueTypes = new Map(graph.types);
    this.taken = new Set([
      ...graph.inputs,
      ...graph.constants.keys(),
      ...graph.nodes.flatMap((n) => [n.name, ...n.outputs]),
    ]);
  }

  /** A name not taken yet: `base`, else `base_2`, `base_3`, … */
  private fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }

  /** The current name of a value (after renames). */
  private resolve(value: string): string {
    return this.renamed.get(value) ?? value;
  }

  /** The type of a value, when known. */
  typeOf(value: string): ValueType | undefined {
    const v = this.resolve(value);
    const t = this.constants.get(v);
    return t === undefined ? this.valueTypes.get(v) : typeOfTensor(t);
  }

  /** The static shape of a value; throws for an untyped or symbolic one. */
  shapeOf(value: string): number[] {
    const type = this.typeOf(value);
    if (type === undefined || type.shape.some((d) => typeof d !== "number")) {
      throw new AutodiffError(
        `Value '${value}' needs a static type; run autodiff after the forward pipeline.`,
      );
    }
    return type.shape as number[];
  }

  /** The data of a constant value. */
  constantValue(value: string): Tensor | undefined {
    return this.constants.get(this.resolve(value));
  }

  /**
   * Adds a constant; small ones are shared by content. `name` forces a
   * name (it must be free).
   */
  constant(t: Tensor, name?: string): string {
    const small = t.data.length <= 16;
    const label = `@grad.${t.dtype}(${Array.from(t.data)})`;
    const key = small ? `${label}[${t.shape}]` : undefined;
    if (name === undefined && key !== undefined) {
      const known = this.byContent.get(key);
      if (known !== undefined) return known;
    }
    const chosen = this.fresh(name ?? (small ? label : "@grad.const"));
    if (name !== undefined && chosen !== name) {
      throw new AutodiffError(`Value '${name}' already exists.`);
    }
    this.constants.set(chosen, t);
    if (name === undefined && key !== undefined) {
      this.byContent.set(key, chosen);
    }
    return chosen;
  }

  /**
   * Emits node `${prefix}/${op}` (made unique), typed by the operator's
   * type rule; returns its output names.
   */
  emit(
    prefix: string,
    op: string,
    inputs: readonly string[],
    attrs: Attrs = {},
    outputs = 1,
  ): string[] {
    const name = this.fresh(`${prefix}/${op}`);
    const outs = Array.from(
      { length: outputs },
      (_, k) => outputs === 1 ? name : this.fresh(`${name}:${k}`),
    );
    const resolved = inputs.map((i) => this.resolve(i));
    const node = makeNode(op, name, resolved, outs, attrs);
    const types = getOp(op).infer({
      node,
      inputs: resolved.map((i) => i === "" ? undefined : this.typeOf(i)),
      values: resolved.map((i) => this.constants.get(i)),
    });
    const draft: Draft = { op, name, inputs: resolved, outputs: outs, attrs };
    outs.forEach((o, k) => {
      this.valueTypes.set(o, types[k]);
      this.producers.set(o, draft);
    });
    this.drafts.push(draft);
    return outs;
  }

  /**
   * Names the whole gradient held by `value` as `target` when `value` was
   * computed by a backward node and is not another value's gradient
   * already; returns the name the gradient now has.
   */
  claim(value: string, target: string): string {
    const v = this.resolve(value);
    if (v === target) {
      this.finals.add(v);
      return v;
    }
    const draft = this.producers.get(v);
    if (draft === undefined || this.finals.has(v) || this.taken.has(target)) {
      return v;
    }
    this.taken.add(target);
    draft.outputs[draft.outputs.indexOf(v)] = target;
    this.valueTypes.set(target, this.valueTypes.get(v)!);
    this.valueTypes.delete(v);
    this.renamed.set(v, target);
    this.finals.add(target);
    return target;
  }

  /** The backward nodes, frozen, every input under its final name. */
  nodes(): Node[] {
    return this.drafts.map((d) =>
      makeNode(
        d.op,
        d.name,
        d.inputs.map((i) => this.resolve(i)),
        d.outputs,
        d.attrs,
      )
    );
  }

  /** Types of every value, forward and backward. */
  types(): Map<string, ValueType> {
    return new Map(this.valueTypes);
  }
}
