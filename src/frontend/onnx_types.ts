/**
 * ONNX element-type codes and 64-bit integer fields, as the rest of the
 * frontend needs them.
 *
 * @module
 */

import type { DType } from "../ir/dtype.ts";

/** ONNX TensorProto.DataType codes of the types the IR holds. */
const ONNX_TO_DTYPE: ReadonlyMap<number, DType> = new Map<number, DType>([
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

/** The IR dtype of an ONNX element-type code, or `undefined` if the IR has none. */
export function dtypeOfOnnx(code: number): DType | undefined {
  return ONNX_TO_DTYPE.get(code);
}

/**
 * A protobuf int64 as protobufjs hands it over: a plain number, or a
 * long.js `Long` when the value may exceed 2^53.
 */
export type Int64 = number | { toNumber(): number };

/** An int64 field as a JavaScript number (exact up to 2^53). */
export function int64(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}
