/**
 * What an op importer sees and does: one ONNX node in, canonical IR nodes
 * (newest-opset semantics) and constants out.
 *
 * @module
 */

import type { Attrs } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";

/** One ONNX node, attributes converted, version resolved. */
export interface OnnxNode {
  /** Node name, unique in the graph. */
  readonly name: string;
  /** ONNX op type. */
  readonly opType: string;
  /** Value names read; `""` marks an omitted optional input. */
  readonly inputs: readonly string[];
  /** Value names defined; `""` marks an omitted optional output. */
  readonly outputs: readonly string[];
  /** Attributes in IR form. */
  readonly attrs: Attrs;
  /** The op's since-version the model's opset resolves to. */
  readonly version: number;
}

/** What an importer may read about the graph being built. */
export interface GraphView {
  /** The value of `name` if it is a constant (initializer or Constant node). */
  constantValue(name: string): Tensor | undefined;
  /** The rank of `name` when known from the model or inferred so far. */
  rank(name: string): number | undefined;
}

/** The services an importer uses to build IR. */
export interface ImportContext extends GraphView {
  /** The node being imported. */
  readonly node: OnnxNode;
  /**
   * Emits an IR node. The first node that defines one of the ONNX node's
   * outputs takes the ONNX node's name; helpers get derived names.
   */
  emit(
    op: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs?: Attrs,
  ): void;
  /** Adds a graph constant under a fresh name derived from `hint`; returns the name. */
  constant(hint: string, value: Tensor): string;
  /** Binds the ONNX output `name` itself to a constant (Constant nodes). */
  defineConstant(name: string, value: Tensor): void;
  /** A fresh value name derived from `hint`, unused anywhere in the graph. */
  fresh(hint: string): string;
  /** Throws an error naming this node and `problem`. */
  fail(problem: string): never;
  /**
   * Reports a repair made to a malformed but meaningful node. Identical
   * sentences from many nodes become one warning with a count.
   */
  warn(sentence: string): void;
}

/** Imports one ONNX node. */
export type Importer = (ctx: ImportContext) => void;

/**
 * Says why a node cannot be imported although its op version is known
 * (e.g. a training-mode Dropout), or `undefined` when it can.
 */
export type Refusal = (node: OnnxNode, graph: GraphView) => string | undefined;

/** One ONNX op in the op table. */
export interface OpEntry {
  /** ONNX op type. */
  readonly opType: string;
  /** Every since-version ONNX defines for the op, ascending. */
  readonly versions: readonly number[];
  /** The since-versions this importer handles, ascending. */
  readonly imported: readonly number[];
  /** IR ops the importer produces (for the support matrix). */
  readonly irOps: readonly string[];
  /** Builds IR for a node whose version is in `imported`. */
  readonly importer: Importer;
  /** Node-level conditions the importer cannot meet. */
  readonly refuse?: Refusal;
}

/** A 1-D i64 tensor (axes, splits, starts…), the IR's form for such operands. */
export function i64Vector(values: readonly number[]): Tensor {
  return tensor("i64", [values.length], values);
}

/** The node's output `k`, or `""` when absent. */
export function output(node: OnnxNode, k: number): string {
  return node.outputs[k] ?? "";
}

/** The node's input `k`, or `""` when absent. */
export function input(node: OnnxNode, k: number): string {
  return node.inputs[k] ?? "";
}

/** The node's attributes without the named ones. */
export function without(attrs: Attrs, ...names: string[]): Attrs {
  const out: Record<string, Attrs[string]> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (!names.includes(k)) out[k] = v;
  }
  return out;
}

/** An importer that re-emits the node as IR op `op` (default: same name). */
export function passThrough(op?: string): Importer {
  return (ctx) => {
    const n = ctx.node;
    ctx.emit(op ?? n.opType, n.inputs, n.outputs, n.attrs);
  };
}

/**
 * An entry whose every imported version maps one-to-one onto an IR op of the
 * same name (or `op`).
 */
export function simple(
  opType: string,
  versions: readonly number[],
  imported: readonly number[],
  op?: string,
): OpEntry {
  return {
    opType,
    versions,
    imported,
    irOps: [op ?? opType],
    importer: passThrough(op),
  };
}
