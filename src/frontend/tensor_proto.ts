/**
 * ONNX TensorProto → IR {@linkcode Tensor}: raw little-endian bytes, the
 * typed repeated fields, and external data files.
 *
 * @module
 */

import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import onnx from "onnx-proto";
import {
  allocate,
  BYTES_PER_ELEMENT,
  type DType,
  type TensorData,
} from "../ir/dtype.ts";
import { sizeOf, type Tensor } from "../ir/tensor.ts";
import {
  ExternalDataError,
  MalformedTensorError,
  OnnxDecodeError,
  UnsupportedDtypeError,
} from "./errors.ts";
import { dtypeOfOnnx, type Int64, int64 } from "./onnx_types.ts";

/** A TensorProto as decoded by onnx-proto. */
export type TensorProto = onnx.onnx.ITensorProto;

/** Where a tensor's external data is looked up, and a cache of data files. */
export interface TensorSource {
  /** The model file, for messages and to resolve external data paths. */
  readonly file?: string;
  /** Data files already read, by resolved path; shared across tensors. */
  readonly cache?: Map<string, Uint8Array>;
}

/** Converts IEEE half-precision bits to the number they encode. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Decodes a TensorProto into an IR tensor.
 *
 * @throws {UnsupportedDtypeError} for string, bfloat16, float8, int4, complex…
 * @throws {ExternalDataError} when external data is missing or short.
 * @throws {MalformedTensorError} when the data does not match the shape.
 */
export function tensorFromProto(
  proto: TensorProto,
  source: TensorSource = {},
): Tensor {
  const name = proto.name || "(unnamed)";
  const code = proto.dataType ?? 0;
  const dtype = dtypeOfOnnx(code);
  if (dtype === undefined) {
    throw new UnsupportedDtypeError(name, code, source.file);
  }
  const shape = (proto.dims ?? []).map((d) => int64(d as Int64));
  if (shape.some((d) => d < 0 || !Number.isSafeInteger(d))) {
    throw new MalformedTensorError(
      name,
      `its dims [${shape}] are not valid`,
      source.file,
    );
  }
  const n = sizeOf(shape);
  const external =
    proto.dataLocation === onnx.onnx.TensorProto.DataLocation.EXTERNAL;
  const raw = external ? readExternal(proto, name, source) : proto.rawData;
  const data = raw !== null && raw !== undefined && (external || raw.length > 0)
    ? fromRaw(raw, dtype, n, name, source.file)
    : fromTyped(proto, dtype, n, name, source.file);
  return { dtype, shape, data };
}

function fromRaw(
  raw: Uint8Array,
  dtype: DType,
  n: number,
  name: string,
  file: string | undefined,
): TensorData {
  if (raw.length !== n * BYTES_PER_ELEMENT[dtype]) {
    throw new MalformedTensorError(
      name,
      `it holds ${raw.length} bytes of raw data but ${n} ${dtype} elements need ${
        n * BYTES_PER_ELEMENT[dtype]
      }`,
      file,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = allocate(dtype, n);
  const read = RAW_READERS[dtype];
  for (let i = 0; i < n; i++) out[i] = read(view, i);
  return out;
}

type RawReader = (view: DataView, i: number) => number;

const RAW_READERS: Record<DType, RawReader> = {
  f32: (v, i) => v.getFloat32(4 * i, true),
  f16: (v, i) => halfToFloat(v.getUint16(2 * i, true)),
  f64: (v, i) => v.getFloat64(8 * i, true),
  i8: (v, i) => v.getInt8(i),
  u8: (v, i) => v.getUint8(i),
  i16: (v, i) => v.getInt16(2 * i, true),
  u16: (v, i) => v.getUint16(2 * i, true),
  i32: (v, i) => v.getInt32(4 * i, true),
  u32: (v, i) => v.getUint32(4 * i, true),
  i64: (v, i) => Number(v.getBigInt64(8 * i, true)),
  u64: (v, i) => Number(v.getBigUint64(8 * i, true)),
  bool: (v, i) => (v.getUint8(i) !== 0 ? 1 : 0),
};

function fromTyped(
  proto: TensorProto,
  dtype: DType,
  n: number,
  name: string,
  file: string | undefined,
): TensorData {
  // ONNX's field choice per element type (see onnx.proto TensorProto).
  let values: ArrayLike<number>;
  let field: string;
  switch (dtype) {
    case "f32":
      [values, field] = [proto.floatData ?? [], "float_data"];
      break;
    case "f64":
      [values, field] = [proto.doubleData ?? [], "double_data"];
      break;
    case "i64":
      [values, field] = [
        (proto.int64Data ?? []).map((v) => int64(v as Int64)),
        "int64_data",
      ];
      break;
    case "u32":
    case "u64":
      [values, field] = [
        (proto.uint64Data ?? []).map((v) => int64(v as Int64)),
        "uint64_data",
      ];
      break;
    case "f16":
      // float16 values travel as their 16-bit patterns in int32_data.
      [values, field] = [
        (proto.int32Data ?? []).map(halfToFloat),
        "int32_data",
      ];
      break;
    default:
      [values, field] = [proto.int32Data ?? [], "int32_data"];
  }
  if (values.length !== n) {
    throw new MalformedTensorError(
      name,
      `its ${field} holds ${values.length} values but its shape needs ${n}`,
      file,
    );
  }
  const out = allocate(dtype, n);
  if (dtype === "bool") {
    for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
  } else {
    for (let i = 0; i < n; i++) out[i] = values[i];
  }
  return out;
}

function readExternal(
  proto: TensorProto,
  name: string,
  source: TensorSource,
): Uint8Array {
  const entries = new Map(
    (proto.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]),
  );
  const location = entries.get("location");
  if (location === undefined || location === "") {
    throw new ExternalDataError(
      name,
      undefined,
      "its external_data has no 'location' entry",
      source.file,
    );
  }
  // Like onnx.checker: a data file must sit beside or below the model.
  const rel = normalize(location);
  if (isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`)) {
    throw new ExternalDataError(
      name,
      location,
      "the location points outside the model's directory, which is refused for safety",
      source.file,
    );
  }
  const path = join(
    source.file === undefined ? "." : dirname(source.file),
    rel,
  );
  let bytes = source.cache?.get(path);
  if (bytes === undefined) {
    try {
      bytes = Deno.readFileSync(path);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound
        ? "that file does not exist"
        : `that file cannot be read (${(e as Error).message})`;
      throw new ExternalDataError(name, path, why, source.file);
    }
    source.cache?.set(path, bytes);
  }
  const offset = Number(entries.get("offset") ?? "0");
  const length = entries.has("length")
    ? Number(entries.get("length"))
    : bytes.length - offset;
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) ||
    offset < 0 || length < 0
  ) {
    throw new ExternalDataError(
      name,
      path,
      `its offset '${entries.get("offset")}' or length '${
        entries.get("length")
      }' is not a valid byte count`,
      source.file,
    );
  }
  if (offset + length > bytes.length) {
    throw new ExternalDataError(
      name,
      path,
      `that file has ${bytes.length} bytes and the tensor needs bytes ${offset} to ${
        offset + length
      } (the file is short)`,
      source.file,
    );
  }
  return bytes.subarray(offset, offset + length);
}

/**
 * Reads one serialized TensorProto file, such as an ONNX node test's
 * `input_0.pb`, and returns its name and tensor.
 */
export function readTensorProtoFile(
  path: string,
): { name: string; tensor: Tensor } {
  const bytes = Deno.readFileSync(path);
  if (bytes.length === 0) throw new OnnxDecodeError("empty", path);
  let proto: onnx.onnx.TensorProto;
  try {
    proto = onnx.onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new OnnxDecodeError("not-onnx", path, (e as Error).message);
  }
  return { name: proto.name, tensor: tensorFromProto(proto, { file: path }) };
}
