import assert from "node:assert/strict";
import {
  decodeSigned,
  decodeUnsigned,
  encodeSigned,
  encodeUnsigned,
} from "../../../src/codegen/wasm/leb128.ts";

const hex = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("signed LEB128 encodes boundary values to the spec bytes", () => {
  const cases: [number | bigint, string][] = [
    [0, "00"],
    [-1, "7f"],
    [63, "3f"],
    [64, "c0 00"],
    [-64, "40"],
    [-65, "bf 7f"],
    [127, "ff 00"],
    [-128, "80 7f"],
    [2 ** 31 - 1, "ff ff ff ff 07"],
    [-(2 ** 31), "80 80 80 80 78"],
    [2 ** 32 - 1, "ff ff ff ff 0f"],
    [(1n << 63n) - 1n, "ff ff ff ff ff ff ff ff ff 00"],
    [-(1n << 63n), "80 80 80 80 80 80 80 80 80 7f"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(hex(encodeSigned(value)), expected, `value ${value}`);
  }
});

Deno.test("unsigned LEB128 encodes boundary values to the spec bytes", () => {
  const cases: [number | bigint, string][] = [
    [0, "00"],
    [63, "3f"],
    [64, "40"],
    [127, "7f"],
    [128, "80 01"],
    [624485, "e5 8e 26"],
    [2 ** 31 - 1, "ff ff ff ff 07"],
    [2 ** 32 - 1, "ff ff ff ff 0f"],
    [(1n << 64n) - 1n, "ff ff ff ff ff ff ff ff ff 01"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(hex(encodeUnsigned(value)), expected, `value ${value}`);
  }
});

Deno.test("LEB128 round-trips negatives, boundaries and random values", () => {
  const signed: bigint[] = [0n, -1n, 1n, 63n, 64n, -64n, -65n, 8191n, -8192n];
  for (let bits = 1n; bits <= 63n; bits++) {
    signed.push((1n << bits) - 1n, -(1n << bits), 1n << (bits - 1n));
  }
  let state = 12345n;
  for (let i = 0; i < 200; i++) {
    state = (state * 6364136223846793005n + 1442695040888963407n) &
      ((1n << 64n) - 1n);
    signed.push(BigInt.asIntN(64, state));
  }
  for (const v of signed) {
    const bytes = encodeSigned(v);
    assert.deepEqual(decodeSigned(bytes), { value: v, length: bytes.length });
    if (v >= 0n) {
      const u = encodeUnsigned(v);
      assert.deepEqual(decodeUnsigned(u), { value: v, length: u.length });
    }
  }
});

Deno.test("LEB128 decodes at an offset and reports consumed length", () => {
  const bytes = Uint8Array.of(0xaa, 0xbf, 0x7f, 0x01);
  assert.deepEqual(decodeSigned(bytes, 1), { value: -65n, length: 2 });
  assert.deepEqual(decodeUnsigned(bytes, 3), { value: 1n, length: 1 });
});

Deno.test("LEB128 rejects negatives as unsigned, unsafe numbers, truncation", () => {
  assert.throws(() => encodeUnsigned(-1), /negative/);
  assert.throws(() => encodeSigned(2 ** 53), /safe integer/);
  assert.throws(() => encodeSigned(0.5), /safe integer/);
  assert.throws(() => decodeSigned(Uint8Array.of(0x80, 0x80)), /Truncated/);
});
