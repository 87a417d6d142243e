/**
 * The export table: every IR operator that has an ONNX form, the ONNX op
 * type it becomes, the first opset at which that op has the IR's (newest)
 * semantics, and its form for older opsets where there is one. An IR
 * operator missing here (the gradient, loss and optimizer operators) is
 * refused, never guessed at.
 *
 * @module
 */

import { lowerGelu, type Lowering, lowerReduce, lowerSplit } from "./lower.ts";
import { lowerQuantizedMatMul } from "./lower_quantized.ts";

/** How one IR operator exports. */
export interface ExportRule {
  /** ONNX op type (the IR keeps ONNX names except for `LayerNorm`). */
  readonly onnxOp: string;
  /** First opset whose version of the op has the IR's semantics. */
  readonly since: number;
  /** The op's form below `since`, when it has one. */
  readonly lower?: Lowering;
}

/** Oldest opset written: LayerNormalization was added in 17. */
export const MIN_EXPORT_OPSET = 17;

/**
 * Newest opset written: the newest whose IR version is pinned down here
 * (ONNX 1.18). onnxruntime-node 1.30 runs it and the frontend imports it;
 * versions 21 to 23 of the ops in this table only widened element types.
 */
export const MAX_EXPORT_OPSET = 23;

/** Ops whose semantics have been the same since opset 17 or earlier. */
const SETTLED = [
  "Abs",
  "Add",
  "And",
  "Cast",
  "CastLike",
  "Ceil",
  "Concat",
  "ConstantOfShape",
  "Div",
  "Dropout",
  "Equal",
  "Erf",
  "Exp",
  "Expand",
  "Flatten",
  "Floor",
  "Gather",
  "GatherElements",
  "Gemm",
  "Greater",
  "GreaterOrEqual",
  "Identity",
  "Less",
  "LessOrEqual",
  "Log",
  "LogSoftmax",
  "MatMul",
  "Max",
  "Mean",
  "Min",
  "Mul",
  "Neg",
  "NonZero",
  "Not",
  "Or",
  "Pow",
  "Range",
  "Reciprocal",
  "ReduceSum",
  "Relu",
  "Reshape",
  "Shape",
  "Sigmoid",
  "Size",
  "Slice",
  "Softmax",
  "Sqrt",
  "Squeeze",
  "Sub",
  "Sum",
  "Tanh",
  "Transpose",
  "Unsqueeze",
  "Where",
  "Xor",
];

/** Reductions other than ReduceSum (13) took `axes` as an input from 18. */
const REDUCE_18 = [
  "ReduceL2",
  "ReduceMax",
  "ReduceMean",
  "ReduceMin",
  "ReduceProd",
  "ReduceSumSquare",
];

const RULES: ReadonlyMap<string, ExportRule> = new Map([
  ...SETTLED.map((op): [string, ExportRule] => [
    op,
    { onnxOp: op, since: MIN_EXPORT_OPSET },
  ]),
  ...REDUCE_18.map((op): [string, ExportRule] => [
    op,
    { onnxOp: op, since: 18, lower: lowerReduce },
  ]),
  ["Split", { onnxOp: "Split", since: 18, lower: lowerSplit }],
  ["Gelu", { onnxOp: "Gelu", since: 20, lower: lowerGelu }],
  ["LayerNorm", { onnxOp: "LayerNormalization", since: 17 }],
  // No ONNX op has its semantics at any opset: always the lowered form.
  ["QuantizedMatMul", {
    onnxOp: "MatMulInteger",
    since: Infinity,
    lower: lowerQuantizedMatMul,
  }],
]);

/** How IR operator `op` exports, or `undefined` when it has no ONNX form. */
export function exportRule(op: string): ExportRule | undefined {
  return RULES.get(op);
}
