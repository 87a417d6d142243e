/**
 * What an IR operator is: its arity, its type rule and its reference
 * semantics.
 *
 * IR operators keep ONNX names and the semantics of the newest ONNX opset
 * (operands that older opsets took as attributes — `axes` of
 * Unsqueeze/Squeeze/Reduce*, `split` of Split, `starts`/`ends` of Slice — are
 * inputs here; Softmax normalises one axis). The frontend upgrades older
 * forms on import. Two operators are the IR's own: `LayerNorm` (ONNX
 * LayerNormalization) and `Gelu`, which the fusion passes produce from their
 * decomposed forms.
 *
 * @module
 */

import type { Node, ValueType } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

/** What a type rule sees of a node. */
export interface InferContext {
  /** The node being typed. */
  readonly node: Node;
  /** Input types; `undefined` for an omitted optional input. */
  readonly inputs: readonly (ValueType | undefined)[];
  /** Input values where known at compile time (constants), else `undefined`. */
  readonly values: readonly (Tensor | undefined)[];
}

/** An IR operator. */
export interface OpDef {
  /** Operator name as it appears in the IR. */
  readonly name: string;
  /** One line on what it computes. */
  readonly summary: string;
  /** Minimum and maximum number of inputs (omitted optional ones count). */
  readonly inputs: readonly [number, number];
  /** Minimum and maximum number of outputs. */
  readonly outputs: readonly [number, number];
  /**
   * Output types. Dims that cannot be known (e.g. a Reshape to a runtime
   * shape) are symbols; types of omitted optional outputs may be anything.
   */
  infer(ctx: InferContext): ValueType[];
  /** Reference semantics: plain, obviously correct, not fast. */
  evaluate(inputs: readonly (Tensor | undefined)[], node: Node): Tensor[];
}

/** A shape or semantics violation found while typing or running a node. */
export class OpError extends Error {
  /** Name of the node at fault. */
  readonly nodeName: string;
  /** Its operator. */
  readonly op: string;

  /** Wraps `message` with the node it concerns. */
  constructor(node: Node, message: string) {
    super(`${node.op} node '${node.name}': ${message}`);
    this.name = "OpError";
    this.nodeName = node.name;
    this.op = node.op;
  }
}

/** Normalises a possibly negative axis against a rank, or throws. */
export function normalizeAxis(node: Node, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw new OpError(node, `axis ${axis} is out of range for rank ${rank}.`);
  }
  return a;
}
