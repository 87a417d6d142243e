/**
 * Typed-array views of engine memory, one array type per dtype, matching
 * how the IR's tensors hold their elements (i64 and u64 as f64, bool as u8),
 * so a view can be copied to and from a {@linkcode Tensor} without
 * conversion.
 *
 * @module
 */

import type { DType, TensorData } from "../../src/ir/dtype.ts";
import { BYTES_PER_ELEMENT } from "../../src/ir/dtype.ts";
import { EngineError } from "./errors.ts";

/** A typed-array constructor over an `ArrayBuffer`. */
type ViewType = new (
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
) => TensorData;

const VIEW_TYPES: Readonly<Record<DType, ViewType | undefined>> = {
  f32: Float32Array,
  // f16 tensors are held widened to f32, but the planner gives them 2 bytes.
  f16: undefined,
  f64: Float64Array,
  i8: Int8Array,
  u8: Uint8Array,
  i16: Int16Array,
  u16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  i64: Float64Array,
  u64: Float64Array,
  bool: Uint8Array,
};

/** Bytes one element of `dtype` occupies in engine memory. */
export function elementBytes(dtype: DType): number {
  return BYTES_PER_ELEMENT[dtype];
}

/** Throws unless the engine can hold values of `dtype`. */
export function checkStorable(dtype: DType, value: string): void {
  if (VIEW_TYPES[dtype] === undefined) {
    throw new EngineError(
      `Value '${value}' is ${dtype}, which the engine does not store; cast it to f32 in the graph.`,
      value,
    );
  }
}

/** A view of `length` elements of `dtype` at byte `offset` of `buffer`. */
export function viewOf(
  buffer: ArrayBuffer,
  dtype: DType,
  offset: number,
  length: number,
): TensorData {
  const type = VIEW_TYPES[dtype];
  if (type === undefined) {
    throw new EngineError(`The engine does not store ${dtype} values.`);
  }
  return new type(buffer, offset, length);
}
