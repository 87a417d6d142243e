/**
 * Cast and CastLike, and the mapping between ONNX `TensorProto.DataType`
 * codes and IR dtypes.
 *
 * Conversion follows {@linkcode fitToDType}: float to integer truncates toward
 * zero; an out-of-range value wraps modulo 2^bits for types up to 32 bits
 * (JavaScript typed-array conversion), and 64-bit ones wrap by 2^64 (see
 * there); NaN and ±Infinity become 0 in every integer type. C++ leaves these
 * cases undefined, so ONNX Runtime may differ on them. Any nonzero value,
 * NaN included, casts to true. Doubles cast to f16 round through f32 first
 * (`coerce`), which can differ from direct rounding on a 2^-13 sliver of
 * f16 ties.
 *
 * @module
 */

import type { DType } from "../ir/dtype.ts";
import { intAttr, type Node } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { fitToDType, operand } from "./elementwise.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** ONNX `TensorProto.DataType` names by code (onnx.proto, ONNX 1.20). */
const ONNX_NAMES = [
  "UNDEFINED",
  "FLOAT",
  "UINT8",
  "INT8",
  "UINT16",
  "INT16",
  "INT32",
  "INT64",
  "STRING",
  "BOOL",
  "FLOAT16",
  "DOUBLE",
  "UINT32",
  "UINT64",
  "COMPLEX64",
  "COMPLEX128",
  "BFLOAT16",
  "FLOAT8E4M3FN",
  "FLOAT8E4M3FNUZ",
  "FLOAT8E5M2",
  "FLOAT8E5M2FNUZ",
  "UINT4",
  "INT4",
  "FLOAT4E2M1",
  "FLOAT8E8M0",
  "UINT2",
  "INT2",
];

const FROM_ONNX: ReadonlyMap<number, DType> = new Map([
  [1, "f32"],
  [2, "u8"],
  [3, "i8"],
  [4, "u16"],
  [5, "i16"],
  [6, "i32"],
  [7, "i64"],
  [9, "bool"],
  [10, "f16"],
  [11, "f64"],
  [12, "u32"],
  [13, "u64"],
]);

const TO_ONNX: ReadonlyMap<DType, number> = new Map(
  [...FROM_ONNX].map(([code, dtype]) => [dtype, code]),
);

/** The name of an ONNX element type code, e.g. `BFLOAT16` for 16. */
export function onnxTypeName(code: number): string {
  return ONNX_NAMES[code] ?? `unknown (${code})`;
}

/** The IR dtype of an ONNX element-type code, or `undefined` if the IR has none. */
export function findDtypeOfOnnx(code: number): DType | undefined {
  return FROM_ONNX.get(code);
}

/**
 * The IR dtype of an ONNX `TensorProto.DataType` code. Throws for types the
 * IR lacks (string, bfloat16, float8, int4, complex, …): an
 * {@linkcode OpError} when `node` is given, a `TypeError` otherwise.
 */
export function dtypeFromOnnx(code: number, node?: Node): DType {
  const dtype = findDtypeOfOnnx(code);
  if (dtype !== undefined) return dtype;
  const message = `ONNX element type ${onnxTypeName(code)} is not supported.`;
  throw node === undefined
    ? new TypeError(message)
    : new OpError(node, message);
}

/** The ONNX `TensorProto.DataType` code of an IR dtype. */
export function onnxFromDtype(dtype: DType): number {
  // Every IR dtype has a code, so the map lookup cannot miss.
  return TO_ONNX.get(dtype)!;
}

/** `x` converted elementwise to `dtype`. */
export function castTensor(x: Tensor, dtype: DType): Tensor {
  const values = Array.from(x.data, (v) => fitToDType(dtype, v));
  return tensor(dtype, x.shape, values);
}

function castTarget(node: Node): DType {
  if (node.attrs.to === undefined) {
    throw new OpError(node, "attribute 'to' is required.");
  }
  return dtypeFromOnnx(intAttr(node.attrs, "to", 0), node);
}

const cast: OpDef = {
  name: "Cast",
  summary: "Converts elements to the type given by attribute `to`.",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = operand(ctx.node, ctx.inputs, 0);
    return [{ dtype: castTarget(ctx.node), shape: x.shape }];
  },
  evaluate: (inputs, node) => [
    castTensor(operand(node, inputs, 0), castTarget(node)),
  ],
};

const castLike: OpDef = {
  name: "CastLike",
  summary: "Converts elements of input 0 to the element type of input 1.",
  inputs: [2, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = operand(ctx.node, ctx.inputs, 0);
    const like = operand(ctx.node, ctx.inputs, 1);
    return [{ dtype: like.dtype, shape: x.shape }];
  },
  evaluate: (inputs, node) => [
    castTensor(operand(node, inputs, 0), operand(node, inputs, 1).dtype),
  ],
};

/** Cast and CastLike. */
export const castOps: readonly OpDef[] = [cast, castLike];
