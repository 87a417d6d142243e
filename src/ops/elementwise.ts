/**
 * Elementwise arithmetic and math operators, with the broadcasting and
 * element-type helpers the logical, cast and reduce operators share.
 *
 * Kernels compute in JavaScript doubles and round once per operator to the
 * output type, so an f32 result is the correctly rounded value of the exact
 * operation (ONNX Runtime may differ by an ulp on transcendental ops).
 * 64-bit integers are plain numbers, exact up to 2^53 (see
 * {@linkcode fitToDType} for how they wrap).
 *
 * @module
 */

import { erf } from "./erf.ts";
import { coerce, type DType, isFloat } from "../ir/dtype.ts";
import type { Dim, Node, ValueType } from "../ir/graph.ts";
import { sizeOf, type Tensor, tensor } from "../ir/tensor.ts";
import { broadcastIndex, broadcastShapes } from "./broadcast.ts";
import { type InferContext, type OpDef, OpError } from "./op_def.ts";

/** The element types an operand accepts, after the ONNX type constraints. */
export type DTypeClass = "any" | "bool" | "numeric" | "signed" | "float";

const SIGNED_INTS: readonly DType[] = ["i8", "i16", "i32", "i64"];

const IN_CLASS: Record<DTypeClass, (dtype: DType) => boolean> = {
  any: () => true,
  bool: (d) => d === "bool",
  numeric: (d) => d !== "bool",
  signed: (d) => isFloat(d) || SIGNED_INTS.includes(d),
  float: isFloat,
};

/** Throws an {@linkcode OpError} unless input `index` has a `cls` dtype. */
export function checkDType(
  node: Node,
  index: number,
  dtype: DType,
  cls: DTypeClass,
): void {
  if (!IN_CLASS[cls](dtype)) {
    throw new OpError(node, `input ${index} has type ${dtype}, not ${cls}.`);
  }
}

/** Input `index` (a type or a tensor); throws when it was omitted. */
export function operand<T>(
  node: Node,
  values: readonly (T | undefined)[],
  index: number,
): T {
  const value = values[index];
  if (value === undefined) {
    throw new OpError(node, `input ${index} is required.`);
  }
  return value;
}

/**
 * The common dtype of inputs `first`, `first + 1`, … (whose dtypes are
 * `dtypes`), checked against `cls`.
 */
export function sameDType(
  node: Node,
  dtypes: readonly DType[],
  cls: DTypeClass,
  first = 0,
): DType {
  dtypes.forEach((d, i) => {
    checkDType(node, first + i, d, cls);
    if (d !== dtypes[0]) {
      throw new OpError(
        node,
        `input ${first + i} is ${d} but input ${first} is ${dtypes[0]}.`,
      );
    }
  });
  return dtypes[0];
}

/** The broadcast of the inputs' shapes; throws when they do not broadcast. */
export function broadcastOrThrow(
  node: Node,
  shapes: readonly (readonly Dim[])[],
): Dim[] {
  const shape = broadcastShapes(shapes);
  if (shape === undefined) {
    const list = shapes.map((s) => `[${s.join(", ")}]`).join(", ");
    throw new OpError(node, `shapes ${list} do not broadcast.`);
  }
  return shape;
}

/**
 * What an element of `dtype` holds for a computed number: {@linkcode coerce},
 * except that NaN counts as true for bool (as C++ and numpy cast it), and a
 * 64-bit integer is truncated, NaN/±Infinity become 0, and a value out of
 * range wraps by 2^64 (i64 keeps +2^63 and u64 keeps 2^64: the nearest
 * doubles to INT64_MAX and UINT64_MAX, which exporters use as sentinels).
 */
export function fitToDType(dtype: DType, x: number): number {
  switch (dtype) {
    case "bool":
      return x !== 0 ? 1 : 0;
    case "i64":
    case "u64": {
      if (!Number.isFinite(x)) return 0;
      const t = Math.trunc(x);
      if (dtype === "i64" && t > 2 ** 63) return t - 2 ** 64;
      if (dtype === "u64" && t < 0) return t + 2 ** 64;
      return t + 0; // turns -0 into 0
    }
    default:
      return coerce(dtype, x);
  }
}

/**
 * Applies `fn` to each element of the broadcast of `inputs` and stores the
 * results as `dtype` (see {@linkcode fitToDType}).
 */
export function mapBroadcast(
  node: Node,
  dtype: DType,
  inputs: readonly Tensor[],
  fn: (xs: readonly number[]) => number,
): Tensor {
  const shape = broadcastOrThrow(node, inputs.map((t) => t.shape)) as number[];
  const indices = inputs.map((t) => broadcastIndex(t.shape, shape));
  const n = sizeOf(shape);
  const out = new Array<number>(n);
  const args = new Array<number>(inputs.length);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < inputs.length; i++) {
      args[i] = inputs[i].data[indices[i][k]];
    }
    out[k] = fitToDType(dtype, fn(args));
  }
  return tensor(dtype, shape, out);
}

/** Types of an op whose inputs share a dtype and broadcast together. */
function inferSameBroadcast(ctx: InferContext, cls: DTypeClass): ValueType[] {
  const types = operands(ctx.node, ctx.inputs);
  const dtype = sameDType(ctx.node, types.map((t) => t.dtype), cls);
  const shape = broadcastOrThrow(ctx.node, types.map((t) => t.shape));
  return [{ dtype, shape }];
}

/** Every input, each required (see {@linkcode operand}). */
export function operands<T>(
  node: Node,
  values: readonly (T | undefined)[],
): T[] {
  return values.map((_, i) => operand(node, values, i));
}

function unaryOp(
  name: string,
  summary: string,
  cls: DTypeClass,
  fn: (x: number) => number,
): OpDef {
  return {
    name,
    summary,
    inputs: [1, 1],
    outputs: [1, 1],
    infer: (ctx) => inferSameBroadcast(ctx, cls),
    evaluate(inputs, node) {
      const x = operand(node, inputs, 0);
      checkDType(node, 0, x.dtype, cls);
      return [mapBroadcast(node, x.dtype, [x], (v) => fn(v[0]))];
    },
  };
}

type Kernel = (a: number, b: number) => number;

/**
 * A binary op over two same-typed inputs; `kernel` picks the scalar function
 * for a dtype, since integer semantics differ from float ones.
 */
function binaryOp(
  name: string,
  summary: string,
  kernel: (dtype: DType, node: Node) => Kernel,
): OpDef {
  return {
    name,
    summary,
    inputs: [2, 2],
    outputs: [1, 1],
    infer: (ctx) => inferSameBroadcast(ctx, "numeric"),
    evaluate(inputs, node) {
      const [a, b] = operands(node, inputs);
      const dtype = sameDType(node, [a.dtype, b.dtype], "numeric");
      const fn = kernel(dtype, node);
      return [mapBroadcast(node, dtype, [a, b], (v) => fn(v[0], v[1]))];
    },
  };
}

/**
 * A variadic op folded pairwise left to right, rounding to the dtype after
 * each step as a runtime accumulating in that dtype does.
 */
function variadicOp(
  name: string,
  summary: string,
  cls: DTypeClass,
  step: Kernel,
  finish?: (acc: number, count: number) => number,
): OpDef {
  return {
    name,
    summary,
    inputs: [1, 2 ** 31 - 1],
    outputs: [1, 1],
    infer: (ctx) => inferSameBroadcast(ctx, cls),
    evaluate(inputs, node) {
      const xs = operands(node, inputs);
      const dtype = sameDType(node, xs.map((x) => x.dtype), cls);
      let acc = xs[0];
      for (const x of xs.slice(1)) {
        acc = mapBroadcast(node, dtype, [acc, x], (v) => step(v[0], v[1]));
      }
      if (finish !== undefined) {
        acc = mapBroadcast(node, dtype, [acc], (v) => finish(v[0], xs.length));
      }
      return [acc];
    },
  };
}

const add: Kernel = (a, b) => a + b;

function checkPowTypes(node: Node, base: DType, exponent: DType): void {
  checkDType(node, 0, base, "numeric");
  checkDType(node, 1, exponent, "numeric");
}

const pow: OpDef = {
  name: "Pow",
  summary: "Base to the power exponent, elementwise; output has the base type.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const [base, exponent] = operands(ctx.node, ctx.inputs);
    checkPowTypes(ctx.node, base.dtype, exponent.dtype);
    const shape = broadcastOrThrow(ctx.node, [base.shape, exponent.shape]);
    return [{ dtype: base.dtype, shape }];
  },
  evaluate(inputs, node) {
    const [base, exponent] = operands(node, inputs);
    checkPowTypes(node, base.dtype, exponent.dtype);
    return [
      mapBroadcast(node, base.dtype, [base, exponent], (v) => v[0] ** v[1]),
    ];
  },
};

const identity: OpDef = {
  name: "Identity",
  summary: "The input, unchanged.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer: (ctx) => [operand(ctx.node, ctx.inputs, 0)],
  // Tensors are immutable, so the input itself is the output.
  evaluate: (inputs, node) => [operand(node, inputs, 0)],
};

/** Elementwise arithmetic and math operators (multidirectional broadcast). */
export const elementwiseOps: readonly OpDef[] = [
  binaryOp("Add", "Sum of two tensors, elementwise.", () => add),
  binaryOp(
    "Sub",
    "Difference of two tensors, elementwise.",
    () => (a, b) => a - b,
  ),
  binaryOp(
    "Mul",
    "Product of two tensors, elementwise.",
    // A 32-bit product can exceed 2^53; imul keeps its exact low bits.
    (dtype) => dtype === "i32" || dtype === "u32" ? Math.imul : (a, b) => a * b,
  ),
  binaryOp(
    "Div",
    "Quotient of two tensors; integers truncate toward zero (like C).",
    (dtype, node) =>
      isFloat(dtype) ? (a, b) => a / b : (a, b) => {
        if (b === 0) throw new OpError(node, "integer division by zero.");
        return Math.trunc(a / b);
      },
  ),
  pow,
  unaryOp("Sqrt", "Square root.", "float", Math.sqrt),
  unaryOp("Reciprocal", "1 / x.", "float", (x) => 1 / x),
  unaryOp("Neg", "-x.", "signed", (x) => -x),
  unaryOp("Abs", "|x|.", "numeric", Math.abs),
  unaryOp("Exp", "e^x.", "float", Math.exp),
  unaryOp("Log", "Natural logarithm.", "float", Math.log),
  unaryOp("Erf", "The error function.", "numeric", erf),
  unaryOp("Tanh", "Hyperbolic tangent.", "float", Math.tanh),
  // Math.max propagates NaN, as numpy's maximum (the ONNX reference) does.
  unaryOp("Relu", "max(x, 0).", "signed", (x) => Math.max(x, 0)),
  unaryOp("Sigmoid", "1 / (1 + e^-x).", "float", (x) => 1 / (1 + Math.exp(-x))),
  unaryOp("Floor", "Largest integer <= x.", "float", Math.floor),
  unaryOp("Ceil", "Smallest integer >= x.", "float", Math.ceil),
  variadicOp("Min", "Elementwise minimum of the inputs.", "numeric", Math.min),
  variadicOp("Max", "Elementwise maximum of the inputs.", "numeric", Math.max),
  variadicOp("Sum", "Elementwise sum of the inputs.", "float", add),
  variadicOp(
    "Mean",
    "Elementwise mean of the inputs.",
    "float",
    add,
    (acc, count) => acc / count,
  ),
  identity,
];
