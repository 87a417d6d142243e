/**
 * Forward propagation of types and compile-time values, shared by shape
 * inference and constant folding.
 *
 * A value is known at compile time when it is a constant, when every input
 * of its node is known (the node is evaluated with its reference
 * semantics), or when it is the `Shape`/`Size` of a value whose type is
 * static. That is what makes the Shape→Gather→Unsqueeze→Concat→Reshape
 * chains of Hugging Face exports fold away once shapes are static.
 *
 * @module
 */

import type { Graph, ValueType } from "../ir/graph.ts";
import { intAttr, isStatic, typeOfTensor } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { getOp, OpError } from "../ops/mod.ts";

/** Types of every value and the values known at compile time. */
export interface Propagation {
  /** Type of every graph input and node output. */
  readonly types: Map<string, ValueType>;
  /** Node outputs whose value is known at compile time. */
  readonly values: Map<string, Tensor>;
}

function shapeValue(type: ValueType, start: number, end: number): Tensor {
  const dims = type.shape as number[];
  const rank = dims.length;
  const clamp = (i: number) =>
    Math.min(Math.max(i < 0 ? i + rank : i, 0), rank);
  return tensor(
    "i64",
    [Math.max(clamp(end) - clamp(start), 0)],
    dims.slice(clamp(start), clamp(end)),
  );
}

/** Propagates types and known values through `graph` in node order. */
export function propagate(graph: Graph): Propagation {
  const types = new Map<string, ValueType>();
  const values = new Map<string, Tensor>();
  for (const name of graph.inputs) {
    const type = graph.types.get(name);
    if (type !== undefined) types.set(name, type);
  }
  const typeOf = (name: string) =>
    types.get(name) ??
      (graph.constants.has(name)
        ? typeOfTensor(graph.constants.get(name)!)
        : undefined);
  const valueOf = (name: string) =>
    graph.constants.get(name) ?? values.get(name);

  for (const node of graph.nodes) {
    const inTypes = node.inputs.map((n) => (n === "" ? undefined : typeOf(n)));
    const inValues = node.inputs.map((
      n,
    ) => (n === "" ? undefined : valueOf(n)));
    node.inputs.forEach((n, i) => {
      if (n !== "" && inTypes[i] === undefined) {
        throw new OpError(node, `input '${n}' has no known type.`);
      }
    });
    let outValues: (Tensor | undefined)[] | undefined;
    const source = inTypes[0];
    if (node.op === "Shape" && source !== undefined && isStatic(source)) {
      const rank = source.shape.length;
      outValues = [
        shapeValue(
          source,
          intAttr(node.attrs, "start", 0),
          intAttr(node.attrs, "end", rank),
        ),
      ];
    } else if (node.op === "Size" && source !== undefined && isStatic(source)) {
      const size = (source.shape as number[]).reduce((a, b) => a * b, 1);
      outValues = [tensor("i64", [], [size])];
    } else if (
      node.inputs.every((n, i) => n === "" || inValues[i] !== undefined)
    ) {
      outValues = getOp(node.op).evaluate(inValues, node);
    }
    if (outValues !== undefined) {
      node.outputs.forEach((name, k) => {
        const t = outValues![k];
        if (name === "" || t === undefined) return;
        values.set(name, t);
        types.set(name, typeOfTensor(t));
      });
      continue;
    }
    const outTypes = getOp(node.op).infer({
      node,
      inputs: inTypes,
      values: inValues,
    });
    node.outputs.forEach((name, k) => {
      if (name !== "" && outTypes[k] !== undefined) {
        types.set(name, outTypes[k]);
      }
    });
  }
  return { types, values };
}
