import assert from "node:assert/strict";
import { join } from "node:path";
import onnx from "onnx-proto";
import {
  MalformedTensorError,
  UnsupportedDtypeError,
} from "../../src/frontend/errors.ts";
import {
  halfToFloat,
  readTensorProtoFile,
  tensorFromProto,
} from "../../src/frontend/tensor_proto.ts";
import type { DType } from "../../src/ir/dtype.ts";
import { toNumbers } from "../../src/ir/tensor.ts";

/** Per dtype: ONNX code, values, little-endian writer, and the typed field. */
const CASES: {
  dtype: DType;
  code: number;
  values: number[];
  size: number;
  write: (v: DataView, i: number, x: number) => void;
  typed: (values: number[]) => onnx.onnx.ITensorProto;
}[] = [
  {
    dtype: "f32",
    code: 1,
    values: [1.5, -2.25, 3e-8],
    size: 4,
    write: (v, i, x) => v.setFloat32(4 * i, x, true),
    typed: (x) => ({ floatData: x }),
  },
  {
    dtype: "f64",
    code: 11,
    values: [0.1, -1e300, 7],
    size: 8,
    write: (v, i, x) => v.setFloat64(8 * i, x, true),
    typed: (x) => ({ doubleData: x }),
  },
  {
    dtype: "i8",
    code: 3,
    values: [-128, 0, 127],
    size: 1,
    write: (v, i, x) => v.setInt8(i, x),
    typed: (x) => ({ int32Data: x }),
  },
  {
    dtype: "u8",
    code: 2,
    values: [0, 200, 255],
    size: 1,
    write: (v, i, x) => v.setUint8(i, x),
    typed: (x) => ({ int32Data: x }),
  },
  {
    dtype: "i16",
    code: 5,
    values: [-32768, 1, 32767],
    size: 2,
    write: (v, i, x) => v.setInt16(2 * i, x, true),
    typed: (x) => ({ int32Data: x }),
  },
  {
    dtype: "u16",
    code: 4,
    values: [0, 40000, 65535],
    size: 2,
    write: (v, i, x) => v.setUint16(2 * i, x, true),
    typed: (x) => ({ int32Data: x }),
  },
  {
    dtype: "i32",
    code: 6,
    values: [-2147483648, 5, 2147483647],
    size: 4,
    write: (v, i, x) => v.setInt32(4 * i, x, true),
    typed: (x) => ({ int32Data: x }),
  },
  {
    dtype: "u32",
    code: 12,
    values: [0, 3000000000, 4294967295],
    size: 4,
    write: (v, i, x) => v.setUint32(4 * i, x, true),
    typed: (x) => ({ uint64Data: x }),
  },
  {
    dtype: "i64",
    code: 7,
    values: [-(2 ** 40), 0, 2 ** 53 - 1],
    size: 8,
    write: (v, i, x) => v.setBigInt64(8 * i, BigInt(x), true),
    typed: (x) => ({ int64Data: x }),
  },
  {
    dtype: "u64",
    code: 13,
    values: [0, 2 ** 33, 2 ** 52],
    size: 8,
    write: (v, i, x) => v.setBigUint64(8 * i, BigInt(x), true),
    typed: (x) => ({ uint64Data: x }),
  },
  {
    dtype: "bool",
    code: 9,
    values: [1, 0, 1],
    size: 1,
    write: (v, i, x) => v.setUint8(i, x),
    typed: (x) => ({ int32Data: x }),
  },
];

for (const c of CASES) {
  Deno.test(`${c.dtype} tensors decode from raw_data and from the typed field`, () => {
    const raw = new Uint8Array(c.values.length * c.size);
    const view = new DataView(raw.buffer);
    c.values.forEach((x, i) => c.write(view, i, x));
    const fromRaw = tensorFromProto({
      name: "t",
      dims: [3],
      dataType: c.code,
      rawData: raw,
    });
    assert.equal(fromRaw.dtype, c.dtype);
    assert.deepEqual(fromRaw.shape, [3]);
    const expected = c.dtype === "f32" ? c.values.map(Math.fround) : c.values;
    assert.deepEqual(toNumbers(fromRaw), expected);
    // Round-trip through protobuf so typed int64 fields arrive as Longs.
    const proto = onnx.onnx.TensorProto.decode(
      onnx.onnx.TensorProto.encode({
        name: "t",
        dims: [3],
        dataType: c.code,
        ...c.typed(c.values),
      }).finish(),
    );
    assert.deepEqual(toNumbers(tensorFromProto(proto)), expected);
  });
}

Deno.test("f16 decodes raw bits and int32_data bits to their values", () => {
  // 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), +inf
  const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00];
  const values = [1, -2, 65504, 2 ** -24, Infinity];
  const raw = new Uint8Array(new Uint16Array(bits).buffer);
  const a = tensorFromProto({ dims: [5], dataType: 10, rawData: raw });
  assert.equal(a.dtype, "f16");
  assert.deepEqual(toNumbers(a), values);
  const b = tensorFromProto({ dims: [5], dataType: 10, int32Data: bits });
  assert.deepEqual(toNumbers(b), values);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

Deno.test("scalars and empty tensors decode", () => {
  const s = tensorFromProto({ dims: [], dataType: 7, int64Data: [42] });
  assert.deepEqual(s.shape, []);
  assert.deepEqual(toNumbers(s), [42]);
  const e = tensorFromProto({ dims: [0, 3], dataType: 1 });
  assert.deepEqual(e.shape, [0, 3]);
  assert.equal(e.data.length, 0);
});

Deno.test("unsupported element types are refused by name", () => {
  for (
    const [code, name] of [
      [8, "STRING"],
      [16, "BFLOAT16"],
      [17, "FLOAT8E4M3FN"],
      [22, "INT4"],
      [14, "COMPLEX64"],
    ] as const
  ) {
    assert.throws(
      () => tensorFromProto({ name: "w", dims: [1], dataType: code }),
      (e: unknown) =>
        e instanceof UnsupportedDtypeError && e.typeName === name &&
        /'w'/.test(e.message),
    );
  }
});

Deno.test("data that does not match the shape is refused", () => {
  assert.throws(
    () =>
      tensorFromProto({
        name: "w",
        dims: [4],
        dataType: 1,
        rawData: new Uint8Array(12),
      }),
    (e: unknown) =>
      e instanceof MalformedTensorError &&
      /12 bytes of raw data but 4 f32 elements need 16/.test(e.message),
  );
  assert.throws(
    () =>
      tensorFromProto({ name: "w", dims: [4], dataType: 1, floatData: [1, 2] }),
    MalformedTensorError,
  );
});

Deno.test("readTensorProtoFile reads a node test's input file", () => {
  const dir = new URL(
    "../../../shared/onnx-node-tests/test_add/test_data_set_0/",
    import.meta.url,
  ).pathname;
  const { name, tensor } = readTensorProtoFile(join(dir, "input_0.pb"));
  assert.equal(name, "x");
  assert.equal(tensor.dtype, "f32");
  assert.deepEqual(tensor.shape, [3, 4, 5]);
});
