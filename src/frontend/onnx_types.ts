/**
 * ONNX element-type codes and 64-bit integer fields, as the rest of the
 * frontend needs them.
 *
 * @module
 */

/** The IR dtype of an ONNX element-type code, or `undefined` if the IR has none. */
export { findDtypeOfOnnx as dtypeOfOnnx } from "../ops/cast.ts";

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
