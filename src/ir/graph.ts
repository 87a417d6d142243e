/**
 * The graph IR: immutable nodes over named values.
 *
 * A graph is a list of nodes in topological order. Each node reads values by
 * name and defines new ones (single assignment). Constants (ONNX
 * initializers and folded values) are values with data. Names from the ONNX
 * model are kept so a user can grep a dump for a layer.
 *
 * A rewrite builds a new graph with {@linkcode makeGraph}; nothing is mutated.
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import type { Tensor } from "./tensor.ts";

/** A dimension: a number once static, a symbol (e.g. `"batch"`) before. */
export type Dim = number | string;

/** The type of a value: element type and shape. */
export interface ValueType {
  /** Element type. */
  readonly dtype: DType;
  /** Shape; symbolic dims are strings. */
  readonly shape: readonly Dim[];
}

/** A node attribute, typed as in ONNX. */
export type Attr =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "strings"; readonly value: readonly string[] }
  | { readonly kind: "tensor"; readonly value: Tensor };

/** Attributes of a node by name. */
export type Attrs = Readonly<Record<string, Attr>>;

/** One operation. `""` as an input name marks an omitted optional input. */
export interface Node {
  /** Node name, from the ONNX model where it had one. */
  readonly name: string;
  /** IR operator name (see `src/ops`). */
  readonly op: string;
  /** Names of the values read; `""` for an omitted optional input. */
  readonly inputs: readonly string[];
  /** Names of the values defined. */
  readonly outputs: readonly string[];
  /** Attributes. */
  readonly attrs: Attrs;
}

/** A whole graph. */
export interface Graph {
  /** Graph name. */
  readonly name: string;
  /** Names of the graph inputs, in order. */
  readonly inputs: readonly string[];
  /** Names of the graph outputs, in order. */
  readonly outputs: readonly string[];
  /** Constant values (initializers and folded constants) by name. */
  readonly constants: ReadonlyMap<string, Tensor>;
  /** Nodes in topological order. */
  readonly nodes: readonly Node[];
  /** Known types of values by name; absent until inferred. */
  readonly types: ReadonlyMap<string, ValueType>;
}

/** The parts of a graph, for {@linkcode makeGraph}. */
export interface GraphParts {
  /** Graph name. */
  name: string;
  /** Graph input names. */
  inputs: readonly string[];
  /** Graph output names. */
  outputs: readonly string[];
  /** Constants by name. */
  constants: ReadonlyMap<string, Tensor> | Iterable<[string, Tensor]>;
  /** Nodes in topological order. */
  nodes: readonly Node[];
  /** Known value types. */
  types: ReadonlyMap<string, ValueType> | Iterable<[string, ValueType]>;
}

/** Freezes a node so a pass cannot change it in place. */
export function makeNode(
  op: string,
  name: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Attrs = {},
): Node {
  return Object.freeze({
    name,
    op,
    inputs: Object.freeze([...inputs]),
    outputs: Object.freeze([...outputs]),
    attrs: Object.freeze({ ...attrs }),
  });
}

/** Builds an immutable graph from its parts. */
export function makeGraph(parts: GraphParts): Graph {
  return Object.freeze({
    name: parts.name,
    inputs: Object.freeze([...parts.inputs]),
    outputs: Object.freeze([...parts.outputs]),
    constants: new Map(parts.constants),
    nodes: Object.freeze([...parts.nodes]),
    types: new Map(parts.types),
  });
}

/** A graph with some parts replaced. */
export function withParts(graph: Graph, parts: Partial<GraphParts>): Graph {
  return makeGraph({ ...graph, ...parts });
}

/** The type a constant tensor gives its value. */
export function typeOfTensor(t: Tensor): ValueType {
  return { dtype: t.dtype, shape: t.shape };
}

/** Whether every dim of a type is a number. */
export function isStatic(type: ValueType): boolean {
  return type.shape.every((d) => typeof d === "number");
}

/** Shorthand attribute constructors. */
export const attr = {
  /** An integer attribute. */
  int: (value: number): Attr => ({ kind: "int", value }),
  /** A float attribute. */
  float: (value: number): Attr => ({ kind: "float", value }),
  /** A string attribute. */
  string: (value: string): Attr => ({ kind: "string", value }),
  /** An integer-list attribute. */
  ints: (value: readonly number[]): Attr => ({ kind: "ints", value }),
  /** A float-list attribute. */
  floats: (value: readonly number[]): Attr => ({ kind: "floats", value }),
  /** A tensor attribute. */
  tensor: (value: Tensor): Attr => ({ kind: "tensor", value }),
};

/** Reads an int attribute, or `fallback` when absent. */
export function intAttr(attrs: Attrs, key: string, fallback: number): number {
  const a = attrs[key];
  if (a === undefined) return fallback;
  if (a.kind !== "int") {
    throw new TypeError(`Attribute '${key}' must be an int, got ${a.kind}.`);
  }
  return a.value;
}

/** Reads a float attribute, or `fallback` when absent. */
export function floatAttr(attrs: Attrs, key: string, fallback: number): number {
  const a = attrs[key];
  if (a === undefined) return fallback;
  if (a.kind !== "float" && a.kind !== "int") {
    throw new TypeError(`Attribute '${key}' must be a float, got ${a.kind}.`);
  }
  return a.value;
}

/** Reads an int-list attribute, or `undefined` when absent. */
export function intsAttr(
  attrs: Attrs,
  key: string,
): readonly number[] | undefined {
  const a = attrs[key];
  if (a === undefined) return undefined;
  if (a.kind !== "ints") {
    throw new TypeError(`Attribute '${key}' must be ints, got ${a.kind}.`);
  }
  return a.value;
}

/** Reads a string attribute, or `fallback` when absent. */
export function stringAttr(
  attrs: Attrs,
  key: string,
  fallback: string,
): string {
  const a = attrs[key];
  if (a === undefined) return fallback;
  if (a.kind !== "string") {
    throw new TypeError(`Attribute '${key}' must be a string, got ${a.kind}.`);
  }
  return a.value;
}
