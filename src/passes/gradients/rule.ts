/**
 * What a gradient rule is, what it sees of the graph while the autodiff pass
 * builds the backward graph, and the helpers rules share (undoing a
 * broadcast, reshaping back).
 *
 * A rule reads the forward node and the gradients of its outputs, emits
 * backward nodes through its {@linkcode GradContext}, and returns, per
 * input, the value holding that input's gradient contribution (or
 * `undefined` where the input needs none).
 *
 * @module
 */

import type { Attrs, Node, ValueType } from "../../ir/graph.ts";
import type { Tensor } from "../../ir/tensor.ts";

/** What a gradient rule sees and can do. */
export interface GradContext {
  /** The forward node being differentiated. */
  readonly node: Node;
  /** The gradient of output `k`, or `undefined` where the loss ignores it. */
  dy(k?: number): string | undefined;
  /** The gradient of output `k`; an error naming the node where it has none. */
  grad(k?: number): string;
  /** Whether input `i` needs a gradient (it depends on a parameter). */
  needs(i: number): boolean;
  /** The static type of a value. */
  type(value: string): ValueType;
  /** The static shape of a value. */
  shape(value: string): number[];
  /** The data of a value when it is a constant. */
  constantValue(value: string): Tensor | undefined;
  /** Emits a backward node named after the forward one; returns its outputs. */
  emit(
    op: string,
    inputs: readonly string[],
    attrs?: Attrs,
    outputs?: number,
  ): string[];
  /** Emits a one-output backward node; returns its output. */
  op(op: string, inputs: readonly string[], attrs?: Attrs): string;
  /** An i64 1-D constant (axes, shapes). */
  ints(values: readonly number[]): string;
  /** A scalar constant with the dtype of value `like`. */
  scalar(value: number, like: string): string;
  /** A constant tensor. */
  constant(t: Tensor): string;
  /** Throws an {@linkcode AutodiffError} naming the node. */
  fail(message: string): never;
}

/** One op's gradient: per input, the value of its gradient contribution. */
export type GradRule = (ctx: GradContext) => readonly (string | undefined)[];

/** Gradient rules by operator name. */
export type RuleTable = Readonly<Record<string, GradRule>>;

/** A graph autodiff cannot differentiate, with the node at fault if any. */
export class AutodiffError extends Error {
  /** Name of the node at fault, when there is one. */
  readonly nodeName?: string;
  /** Its operator. */
  readonly op?: string;

  /** Builds the message, prefixed by the node when given. */
  constructor(message: string, node?: Node) {
    super(
      node === undefined
        ? message
        : `Autodiff of ${node.op} node '${node.name}': ${message}`,
    );
    this.name = "AutodiffError";
    this.nodeName = node?.name;
    this.op = node?.op;
  }
}

/** Whether two static shapes are equal. */
export function sameShape(
  a: readonly number[],
  b: readonly number[],
): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `g` reshaped to `shape`, or `g` itself when it has that shape already. */
export function reshapeTo(
  ctx: GradContext,
  g: string,
  shape: readonly number[],
): string {
  return sameShape(ctx.shape(g), shape)
    ? g
    : ctx.op("Reshape", [g, ctx.ints(shape)]);
}

/**
 * Undoes a numpy broadcast of a value of `shape` up to `g`'s shape: sums
 * `g` over the leading axes the broadcast added and over the axes where
 * `shape` has 1, then reshapes to `shape`.
 */
export function sumTo(
  ctx: GradContext,
  g: string,
  shape: readonly number[],
): string {
  const from = ctx.shape(g);
  if (sameShape(from, shape)) return g;
  const lead = from.length - shape.length;
  const axes = from.flatMap((d, i) =>
    i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []
  );
  // Summing only the added leading axes needs no reshape after.
  const keepdims = axes.length === lead ? 0 : 1;
  const summed = axes.length === 0
    ? g
    : ctx.op("ReduceSum", [g, ctx.ints(axes)], {
      keepdims: { kind: "int", value: keepdims },
    });
  return reshapeTo(ctx, summed, shape);
}

/** `sumTo` the shape of forward input `i`, when that input needs it. */
export function gradFor(
  ctx: GradContext,
  i: number,
  g: () => string,
): string | undefined {
  return ctx.needs(i)
    ? sumTo(ctx, g(), ctx.shape(ctx.node.inputs[i]))
    : undefined;
}
