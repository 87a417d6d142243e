/**
 * Older-opset forms of the IR operators whose semantics ONNX reached after
 * the oldest exported opset (17): Reduce* with `axes` as an input (18),
 * Split with `num_outputs` (18) and Gelu (20). Each lowering returns nodes
 * named with ONNX op types, or a sentence saying why the node has no such
 * form.
 *
 * @module
 */

import type { DType } from "../ir/dtype.ts";
import { type Attr, attr, intAttr, makeNode, type Node } from "../ir/graph.ts";
import { scalar, type Tensor, tensor, toNumbers } from "../ir/tensor.ts";

/** What a lowering may read of the graph and add to it. */
export interface LowerContext {
  /** The value of `name` if it is a constant. */
  constantValue(name: string): Tensor | undefined;
  /** The dtype of `name`, when known. */
  dtypeOf(name: string): DType | undefined;
  /** The dim `axis` of `name`, when known and static. */
  dimOf(name: string, axis: number): number | undefined;
  /** Adds a constant under a fresh name derived from `hint`; returns the name. */
  constant(hint: string, value: Tensor): string;
  /** A fresh value or node name derived from `hint`. */
  fresh(hint: string): string;
}

/** ONNX-typed nodes standing for one IR node, or why there are none. */
export type Lowering = (node: Node, ctx: LowerContext) => Node[] | string;

/**
 * Reduce* (but ReduceSum) before 18 took `axes` as an attribute, so the
 * axes operand must be a constant; absent or empty axes mean all axes in
 * both forms. `noop_with_empty_axes` did not exist and is only dropped
 * where it is the default.
 */
export const lowerReduce: Lowering = (node, ctx) => {
  const [x, axesName = ""] = node.inputs;
  const { noop_with_empty_axes: _, ...kept } = node.attrs;
  if (intAttr(node.attrs, "noop_with_empty_axes", 0) !== 0) {
    return "noop_with_empty_axes = 1 has no form before opset 18";
  }
  const attrs: Record<string, Attr> = kept;
  if (axesName !== "") {
    const axes = ctx.constantValue(axesName);
    if (axes === undefined) {
      return "its axes are computed at run time, which needs opset 18";
    }
    if (axes.data.length > 0) attrs.axes = attr.ints(toNumbers(axes));
  }
  return [makeNode(node.op, node.name, [x], node.outputs, attrs)];
};

/**
 * Split before 18 cut into equal parts when given no sizes, where
 * `num_outputs` lets the last part be shorter; a dim that does not divide
 * evenly gets its sizes spelled out.
 */
export const lowerSplit: Lowering = (node, ctx) => {
  const { num_outputs: parts, ...attrs } = node.attrs;
  if (parts === undefined || node.inputs[1]) {
    return [makeNode(node.op, node.name, node.inputs, node.outputs, attrs)];
  }
  const n = intAttr(node.attrs, "num_outputs", 1);
  const dim = ctx.dimOf(node.inputs[0], intAttr(node.attrs, "axis", 0));
  if (dim === undefined) {
    return "its split dim is not static, so whether it divides into num_outputs equal parts is unknown";
  }
  if (dim % n === 0) {
    return [
      makeNode(node.op, node.name, [node.inputs[0]], node.outputs, attrs),
    ];
  }
  const size = Math.ceil(dim / n);
  const sizes = Array.from(
    { length: n },
    (_, k) => Math.max(0, Math.min(size, dim - k * size)),
  );
  const split = ctx.constant(
    `${node.name}/split`,
    tensor("i64", [n], sizes),
  );
  return [
    makeNode(node.op, node.name, [node.inputs[0], split], node.outputs, attrs),
  ];
};

/**
 * Gelu before 20 as the elementwise graph the frontend's `fuse-gelu`
 * recognises again: 0.5·x·(1+erf(x/√2)), or
 * 0.5·x·(1+tanh(√(2/π)·(x+0.044715·x³))) when approximate="tanh".
 */
export const lowerGelu: Lowering = (node, ctx) => {
  const x = node.inputs[0];
  const dtype = ctx.dtypeOf(x);
  if (dtype === undefined) {
    return "its input type is unknown, so its constants cannot be typed (run shape inference first)";
  }
  const nodes: Node[] = [];
  const c = (hint: string, v: number) =>
    ctx.constant(`${node.name}/${hint}`, scalar(dtype, v));
  // Nodes named inside the Gelu's scope: that scope is the name fuse-gelu
  // gives the Gelu it rebuilds from them on re-import.
  const emit = (op: string, inputs: string[], out?: string) => {
    const output = out ?? ctx.fresh(`${node.name}/${op}_output`);
    nodes.push(makeNode(op, ctx.fresh(`${node.name}/${op}`), inputs, [output]));
    return output;
  };
  let phi: string;
  if (node.attrs.approximate?.value === "tanh") {
    const cube = emit("Pow", [x, c("three", 3)]);
    const inner = emit("Add", [x, emit("Mul", [cube, c("k", 0.044715)])]);
    const sqrt2OverPi = c("sqrt_2_over_pi", Math.sqrt(2 / Math.PI));
    phi = emit("Tanh", [emit("Mul", [inner, sqrt2OverPi])]);
  } else {
    phi = emit("Erf", [emit("Div", [x, c("sqrt2", Math.SQRT2)])]);
  }
  const onePlus = emit("Add", [phi, c("one", 1)]);
  const product = emit("Mul", [x, onePlus]);
  emit("Mul", [product, c("half", 0.5)], node.outputs[0]);
  return nodes;
};
