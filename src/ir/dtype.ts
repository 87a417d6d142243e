/**
 * Element types of IR values.
 *
 * 64-bit integers are held as JavaScript numbers (exact up to 2^53), which is
 * ample for the ids, shapes and indices BERT graphs carry; the sentinel
 * INT64_MAX that exporters write for "to the end" survives as a huge number.
 *
 * @module
 */

/** Every element type the IR knows, in printing order. */
export const DTYPES = [
  "f32",
  "f16",
  "f64",
  "i8",
  "u8",
  "i16",
  "u16",
  "i32",
  "u32",
  "i64",
  "u64",
  "bool",
] as const;

/** An IR element type. */
export type DType = typeof DTYPES[number];

/** Storage of a tensor's elements; f16 values are stored widened to f32. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** Bytes per element of each dtype in memory and in ONNX raw data. */
export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = {
  f32: 4,
  f16: 2,
  f64: 8,
  i8: 1,
  u8: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  i64: 8,
  u64: 8,
  bool: 1,
};

/** Whether `s` names a dtype. */
export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

/** Whether a dtype holds floating-point values. */
export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "f16" || dtype === "f64";
}

/** Allocates zeroed storage for `n` elements of `dtype`. */
export function allocate(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case "f32":
    case "f16":
      return new Float32Array(n);
    case "f64":
    case "i64":
    case "u64":
      return new Float64Array(n);
    case "i8":
      return new Int8Array(n);
    case "u8":
    case "bool":
      return new Uint8Array(n);
    case "i16":
      return new Int16Array(n);
    case "u16":
      return new Uint16Array(n);
    case "i32":
      return new Int32Array(n);
    case "u32":
      return new Uint32Array(n);
  }
}

const F16_SCRATCH = new Float32Array(1);
const F16_BITS = new Uint32Array(F16_SCRATCH.buffer);

/** Rounds an f32 value to the nearest f16 value (ties to even), as a number. */
export function roundToF16(x: number): number {
  F16_SCRATCH[0] = x;
  const bits = F16_BITS[0];
  const exponent = (bits >>> 23) & 0xff;
  if (exponent === 0xff) return F16_SCRATCH[0];
  const abs = Math.abs(F16_SCRATCH[0]);
  if (abs >= 65520) return x > 0 ? Infinity : -Infinity;
  // f16's step at this magnitude: 2^(e-10) for normals, 2^-24 below 2^-14.
  const e = abs === 0 ? -24 : Math.max(Math.floor(Math.log2(abs)), -14);
  const step = 2 ** (e - 10);
  const q = abs / step;
  let r = Math.round(q);
  if (r - q === 0.5 && r % 2 === 1) r -= 1;
  return Math.sign(x) * r * step;
}

/**
 * Coerces a computed number to what an element of `dtype` holds: float
 * rounding for f32/f16, truncation and wrap-around for integers, 0/1 for bool.
 */
export function coerce(dtype: DType, x: number): number {
  switch (dtype) {
    case "f32":
      return Math.fround(x);
    case "f16":
      return roundToF16(x);
    case "f64":
      return x;
    case "bool":
      return x ? 1 : 0;
    case "i64":
    case "u64":
      return Number.isFinite(x) ? Math.trunc(x) : x;
    default: {
      const a = allocate(dtype, 1);
      a[0] = Number.isFinite(x) ? Math.trunc(x) : 0;
      return a[0];
    }
  }
}
