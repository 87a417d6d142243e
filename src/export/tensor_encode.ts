/**
 * IR {@linkcode Tensor} → ONNX TensorProto, the inverse of the frontend's
 * `tensorFromProto`: every element type travels as little-endian
 * `raw_data`, which ONNX Runtime and the frontend both read for all of them.
 *
 * @module
 */

import type onnx from "onnx-proto";
import type { DType } from "../ir/dtype.ts";
import type { Tensor } from "../ir/tensor.ts";
import { onnxFromDtype } from "../ops/cast.ts";

/** A TensorProto as onnx-proto builds it. */
export type TensorProto = onnx.onnx.ITensorProto;

/** An int64 protobuf field as onnx-proto types it: a number or a `Long`. */
export type Int64Field = NonNullable<onnx.onnx.IAttributeProto["i"]>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** `x` as a 64-bit integer, saturated: doubles ≥ 2^63 are INT64_MAX's image. */
function toBigInt64(x: number): bigint {
  if (x >= 2 ** 63) return INT64_MAX;
  if (x <= -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(x));
}

function toBigUint64(x: number): bigint {
  if (x >= 2 ** 64) return UINT64_MAX;
  if (x <= 0) return 0n;
  return BigInt(Math.trunc(x));
}

/**
 * An IR integer as an int64 protobuf field, saturated to the int64 range.
 * Numbers beyond 2^53 go as `{low, high}` words: protobufjs splits a plain
 * number with unsigned arithmetic and would turn 2^63 (how the INT64_MAX
 * sentinel reads as a double) into INT64_MIN. Its writer reads nothing of a
 * `Long` but `low` and `high`, hence the cast.
 */
export function int64Field(x: number): Int64Field {
  if (Number.isSafeInteger(x)) return x;
  const bits = BigInt.asUintN(64, toBigInt64(x));
  const words = {
    low: Number(bits & 0xffffffffn) | 0,
    high: Number(bits >> 32n) | 0,
    unsigned: false,
  };
  return words as unknown as Int64Field;
}

const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);

/**
 * The IEEE half-precision bits of `x`, rounded to nearest even. The IR
 * keeps f16 values widened to f32 and already rounded, so this is exact
 * for them; it rounds anything else.
 */
export function floatToHalf(x: number): number {
  F32[0] = x;
  const bits = F32_BITS[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal: shift the mantissa with its implicit bit into place.
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1))) out++;
    return sign | out;
  }
  let out = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent.
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1))) out++;
  return sign | out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type RawWriter = (view: DataView, i: number, x: number) => void;

const RAW_WRITERS: Record<DType, [number, RawWriter]> = {
  f32: [4, (v, i, x) => v.setFloat32(4 * i, x, true)],
  f16: [2, (v, i, x) => v.setUint16(2 * i, floatToHalf(x), true)],
  f64: [8, (v, i, x) => v.setFloat64(8 * i, x, true)],
  i8: [1, (v, i, x) => v.setInt8(i, x)],
  u8: [1, (v, i, x) => v.setUint8(i, x)],
  i16: [2, (v, i, x) => v.setInt16(2 * i, x, true)],
  u16: [2, (v, i, x) => v.setUint16(2 * i, x, true)],
  i32: [4, (v, i, x) => v.setInt32(4 * i, x, true)],
  u32: [4, (v, i, x) => v.setUint32(4 * i, x, true)],
  i64: [8, (v, i, x) => v.setBigInt64(8 * i, toBigInt64(x), true)],
  u64: [8, (v, i, x) => v.setBigUint64(8 * i, toBigUint64(x), true)],
  bool: [1, (v, i, x) => v.setUint8(i, x ? 1 : 0)],
};

/** The little-endian bytes of a tensor's elements, as ONNX `raw_data` holds them. */
export function rawData(t: Tensor): Uint8Array {
  const [width, write] = RAW_WRITERS[t.dtype];
  const bytes = new Uint8Array(width * t.data.length);
  // f32 on a little-endian host is the bulk of every model: copy it whole.
  if (t.dtype === "f32" && LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, bytes.length));
    return bytes;
  }
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < t.data.length; i++) write(view, i, t.data[i]);
  return bytes;
}

/** A tensor as a named TensorProto with `raw_data`. */
export function tensorToProto(name: string, t: Tensor): TensorProto {
  return {
    name,
    dataType: onnxFromDtype(t.dtype),
    dims: t.shape.map(int64Field),
    rawData: rawData(t),
  };
}
