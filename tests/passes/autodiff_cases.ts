/**
 * One-op finite-difference cases, at least one per gradient rule, with
 * broadcasting shapes where the op broadcasts.
 *
 * @module
 */

import type { Attr } from "../../src/ir/graph.ts";
import type { InputSpec, RuleCase } from "./autodiff_fd.ts";

const int = (value: number): Attr => ({ kind: "int", value });
const float = (value: number): Attr => ({ kind: "float", value });
const ints = (value: number[]): Attr => ({ kind: "ints", value });
const str = (value: string): Attr => ({ kind: "string", value });

/** A random f64 input. */
const r = (...shape: number[]): InputSpec => ({ shape });
/** A random positive f64 input. */
const pos = (...shape: number[]): InputSpec => ({ shape, positive: true });
/** A fixed i64 input. */
const i64 = (values: number[], shape = [values.length]): InputSpec => ({
  shape,
  dtype: "i64",
  values,
});

/** A unary op on one random [2, 3] input. */
const unary = (op: string, spec = r(2, 3)): RuleCase => ({
  label: op,
  op,
  inputs: [spec],
});

/** Every case. */
export const RULE_CASES: readonly RuleCase[] = [
  { label: "Add [3,4]+[4]", op: "Add", inputs: [r(3, 4), r(4)] },
  { label: "Add [2,1,3]+[4,1]", op: "Add", inputs: [r(2, 1, 3), r(4, 1)] },
  { label: "Sub [3,4]-[3,1]", op: "Sub", inputs: [r(3, 4), r(3, 1)] },
  { label: "Mul [2,3]*[3]", op: "Mul", inputs: [r(2, 3), r(3)] },
  { label: "Mul []*[2,3]", op: "Mul", inputs: [r(), r(2, 3)] },
  { label: "Div [2,3]/[2,1]", op: "Div", inputs: [r(2, 3), pos(2, 1)] },
  {
    label: "Pow x^3",
    op: "Pow",
    inputs: [r(2, 3), { shape: [], dtype: "f64", values: [3] }],
  },
  {
    label: "Pow x^[0.5,2,1.5]",
    op: "Pow",
    inputs: [pos(2, 3), { shape: [3], dtype: "f64", values: [0.5, 2, 1.5] }],
  },
  unary("Sqrt", pos(2, 3)),
  unary("Tanh"),
  unary("Erf"),
  unary("Gelu"),
  {
    label: "Gelu tanh",
    op: "Gelu",
    inputs: [r(2, 3)],
    attrs: { approximate: str("tanh") },
  },
  unary("Relu"),
  unary("Neg"),
  unary("Exp"),
  unary("Log", pos(2, 3)),
  unary("Reciprocal", pos(2, 3)),
  unary("Sigmoid"),
  unary("Identity"),
  unary("Dropout"),
  {
    label: "Cast f64→f64",
    op: "Cast",
    inputs: [r(2, 3)],
    attrs: { to: int(11) },
  },
  {
    label: "Cast f32→f64",
    op: "Cast",
    // Multiples of 1/64 stay exact in f32 under a 1/64 step.
    inputs: [{
      shape: [4],
      dtype: "f32",
      values: [0.5, -1.25, 2, 0.015625],
      trainable: true,
    }],
    attrs: { to: int(11) },
    step: 1 / 64,
  },
  {
    label: "Where [2,3] ? [2,3] : [3]",
    op: "Where",
    inputs: [
      { shape: [2, 3], dtype: "bool", values: [1, 0, 1, 0, 0, 1] },
      r(2, 3),
      r(3),
    ],
  },
  { label: "MatMul [3,4]x[4,5]", op: "MatMul", inputs: [r(3, 4), r(4, 5)] },
  {
    label: "MatMul [2,3,4]x[4,5]",
    op: "MatMul",
    inputs: [r(2, 3, 4), r(4, 5)],
  },
  {
    label: "MatMul [2,3,4]x[2,4,5]",
    op: "MatMul",
    inputs: [r(2, 3, 4), r(2, 4, 5)],
  },
  {
    label: "MatMul [2,1,3,4]x[3,4,2]",
    op: "MatMul",
    inputs: [r(2, 1, 3, 4), r(3, 4, 2)],
  },
  { label: "MatMul [4]x[4,5]", op: "MatMul", inputs: [r(4), r(4, 5)] },
  { label: "MatMul [3,4]x[4]", op: "MatMul", inputs: [r(3, 4), r(4)] },
  { label: "Gemm", op: "Gemm", inputs: [r(3, 4), r(4, 5), r(5)] },
  {
    label: "Gemm transA transB alpha beta C[3,1]",
    op: "Gemm",
    inputs: [r(4, 3), r(5, 4), r(3, 1)],
    attrs: {
      transA: int(1),
      transB: int(1),
      alpha: float(0.5),
      beta: float(2),
    },
  },
  {
    label: "Gemm transA",
    op: "Gemm",
    inputs: [r(4, 3), r(4, 5)],
    attrs: { transA: int(1) },
  },
  {
    label: "Gemm transB",
    op: "Gemm",
    inputs: [r(3, 4), r(5, 4), r()],
    attrs: { transB: int(1) },
  },
  {
    label: "LayerNorm axis -1",
    op: "LayerNorm",
    inputs: [r(2, 3, 5), r(5), r(5)],
    attrs: { axis: int(-1), epsilon: float(1e-5) },
  },
  {
    label: "LayerNorm axis 1, no bias",
    op: "LayerNorm",
    inputs: [r(2, 3, 4), r(3, 4)],
    attrs: { axis: int(1) },
  },
  {
    label: "Softmax axis -1",
    op: "Softmax",
    inputs: [r(2, 3, 4)],
    attrs: { axis: int(-1) },
  },
  {
    label: "Softmax axis 1",
    op: "Softmax",
    inputs: [r(2, 3, 4)],
    attrs: { axis: int(1) },
  },
  {
    label: "LogSoftmax",
    op: "LogSoftmax",
    inputs: [r(3, 4)],
    attrs: { axis: int(-1) },
  },
  {
    label: "ReduceSum axes [1] keepdims 0",
    op: "ReduceSum",
    inputs: [r(2, 3, 4), i64([1])],
    attrs: { keepdims: int(0) },
  },
  { label: "ReduceSum all", op: "ReduceSum", inputs: [r(2, 3)] },
  {
    label: "ReduceMean axes [-1]",
    op: "ReduceMean",
    inputs: [r(2, 3, 4), i64([-1])],
  },
  { label: "Reshape", op: "Reshape", inputs: [r(2, 6), i64([3, -1])] },
  {
    label: "Flatten",
    op: "Flatten",
    inputs: [r(2, 3, 4)],
    attrs: { axis: int(1) },
  },
  { label: "Squeeze", op: "Squeeze", inputs: [r(2, 1, 3), i64([1])] },
  { label: "Unsqueeze", op: "Unsqueeze", inputs: [r(2, 3), i64([0])] },
  {
    label: "Transpose",
    op: "Transpose",
    inputs: [r(2, 3, 4)],
    attrs: { perm: ints([1, 2, 0]) },
  },
  {
    label: "Expand [3,1]→[2,3,4]",
    op: "Expand",
    inputs: [r(3, 1), i64([2, 3, 4])],
  },
  {
    label: "Gather rows, repeated indices",
    op: "Gather",
    inputs: [r(5, 3), i64([0, 4, 4, -4], [2, 2])],
  },
  {
    label: "Gather axis 1",
    op: "Gather",
    inputs: [r(2, 5), i64([3, 1, 3])],
    attrs: { axis: int(1) },
  },
  {
    label: "Slice steps",
    op: "Slice",
    inputs: [r(4, 6), i64([1, 0]), i64([3, 6]), i64([0, 1]), i64([1, 2])],
  },
  {
    label: "Slice backwards",
    op: "Slice",
    inputs: [r(4, 6), i64([-1]), i64([-5]), i64([1]), i64([-2])],
  },
  {
    label: "Concat",
    op: "Concat",
    inputs: [r(2, 3), r(2, 2)],
    attrs: { axis: int(1) },
  },
  {
    label: "Split, one part unused",
    op: "Split",
    inputs: [r(2, 5), i64([2, 3])],
    attrs: { axis: int(1) },
    outputs: 2,
    used: [1],
  },
  {
    label: "SoftmaxCrossEntropy",
    op: "SoftmaxCrossEntropy",
    inputs: [r(3, 4), i64([0, 3, 1])],
  },
  {
    label: "MeanSquaredError [3,1] vs [3]",
    op: "MeanSquaredError",
    inputs: [r(3, 1), r(3)],
  },
  {
    label: "SpanCrossEntropy",
    op: "SpanCrossEntropy",
    inputs: [r(2, 5, 2), i64([0, 4]), i64([3, 4])],
  },
  {
    label: "DropoutTrain",
    op: "DropoutTrain",
    inputs: [r(4, 5), i64([42], [])],
    attrs: { ratio: float(0.3) },
    outputs: 2,
  },
  {
    label: "DropoutTrain in a stream",
    op: "DropoutTrain",
    inputs: [r(4, 5), i64([7], [])],
    attrs: { ratio: float(0.5), stream: int(0x9f1c2a03) },
    outputs: 2,
  },
  {
    // The straight-through estimator is the true derivative only outside
    // the clamp range (inside, round's derivative is taken as 1; that
    // branch is checked in tests/ptq/lsq_op_test.ts): every x lies below
    // offset or above offset + 3·scale.
    label: "LsqFakeQuant outside the range, offset [3]",
    op: "LsqFakeQuant",
    inputs: [
      {
        shape: [2, 3],
        dtype: "f64",
        values: [-1.5, -0.7, 0.9, 1.3, 2, -0.3],
        trainable: true,
      },
      { shape: [], dtype: "f64", values: [0.01], trainable: true },
      { shape: [3], dtype: "f64", values: [0.05, 0.04, 0.06], trainable: true },
    ],
    attrs: { bits: int(2) },
  },
];
