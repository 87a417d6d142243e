/**
 * Comparison and boolean operators, and Where. All broadcast
 * multidirectionally; comparisons and boolean ops produce bool.
 *
 * @module
 */

import {
  broadcastOrThrow,
  checkDType,
  type DTypeClass,
  mapBroadcast,
  operands,
  sameDType,
} from "./elementwise.ts";
import type { OpDef } from "./op_def.ts";

type Predicate = (a: number, b: number) => boolean;

/**
 * A binary op from two same-typed `cls` inputs to bool. Values compare as
 * numbers, so f16 inputs (held widened) compare exactly, and NaN compares
 * false with everything, as IEEE and ONNX have it.
 */
function predicateOp(
  name: string,
  summary: string,
  cls: DTypeClass,
  test: Predicate,
): OpDef {
  return {
    name,
    summary,
    inputs: [2, 2],
    outputs: [1, 1],
    infer(ctx) {
      const types = operands(ctx.node, ctx.inputs);
      sameDType(ctx.node, types.map((t) => t.dtype), cls);
      const shape = broadcastOrThrow(ctx.node, types.map((t) => t.shape));
      return [{ dtype: "bool", shape }];
    },
    evaluate(inputs, node) {
      const xs = operands(node, inputs);
      sameDType(node, xs.map((x) => x.dtype), cls);
      return [mapBroadcast(node, "bool", xs, (v) => test(v[0], v[1]) ? 1 : 0)];
    },
  };
}

const not: OpDef = {
  name: "Not",
  summary: "Logical negation of a bool tensor.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const [x] = operands(ctx.node, ctx.inputs);
    checkDType(ctx.node, 0, x.dtype, "bool");
    return [x];
  },
  evaluate(inputs, node) {
    const [x] = operands(node, inputs);
    checkDType(node, 0, x.dtype, "bool");
    return [mapBroadcast(node, "bool", [x], (v) => v[0] ? 0 : 1)];
  },
};

const where: OpDef = {
  name: "Where",
  summary: "Elements of X where the condition holds, else of Y (broadcast).",
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    const [cond, x, y] = operands(ctx.node, ctx.inputs);
    checkDType(ctx.node, 0, cond.dtype, "bool");
    sameDType(ctx.node, [x.dtype, y.dtype], "any", 1);
    const shape = broadcastOrThrow(ctx.node, [cond.shape, x.shape, y.shape]);
    return [{ dtype: x.dtype, shape }];
  },
  evaluate(inputs, node) {
    const [cond, x, y] = operands(node, inputs);
    checkDType(node, 0, cond.dtype, "bool");
    sameDType(node, [x.dtype, y.dtype], "any", 1);
    return [
      mapBroadcast(node, x.dtype, [cond, x, y], (v) => v[0] ? v[1] : v[2]),
    ];
  },
};

/** Comparison and boolean operators, and Where. */
export const logicalOps: readonly OpDef[] = [
  predicateOp("Equal", "a == b, elementwise.", "any", (a, b) => a === b),
  predicateOp("Less", "a < b, elementwise.", "numeric", (a, b) => a < b),
  predicateOp("Greater", "a > b, elementwise.", "numeric", (a, b) => a > b),
  predicateOp(
    "LessOrEqual",
    "a <= b, elementwise.",
    "numeric",
    (a, b) => a <= b,
  ),
  predicateOp(
    "GreaterOrEqual",
    "a >= b, elementwise.",
    "numeric",
    (a, b) => a >= b,
  ),
  not,
  predicateOp(
    "And",
    "Logical and of two bool tensors.",
    "bool",
    (a, b) => a !== 0 && b !== 0,
  ),
  predicateOp(
    "Or",
    "Logical or of two bool tensors.",
    "bool",
    (a, b) => a !== 0 || b !== 0,
  ),
  predicateOp(
    "Xor",
    "Logical xor of two bool tensors.",
    "bool",
    (a, b) => (a !== 0) !== (b !== 0),
  ),
  where,
];
