/**
 * LEB128 variable-length integers, the encoding WebAssembly uses for every
 * index, count and integer immediate.
 *
 * Values are accepted as `number` (must be a safe integer) or `bigint`, so
 * that i64 immediates at the 2^63 boundaries round-trip exactly.
 *
 * @example
 * ```ts
 * import { encodeSigned, decodeSigned } from "./leb128.ts";
 * const bytes = encodeSigned(-65); // [0xbf, 0x7f]
 * decodeSigned(bytes).value === -65n;
 * ```
 * @module
 */

/** Result of decoding one LEB128 value: the value and how many bytes it used. */
export interface Leb128Decoded {
  /** The decoded integer. */
  value: bigint;
  /** Number of bytes consumed from the input. */
  length: number;
}

function toBigInt(value: number | bigint, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `Cannot LEB128-encode ${what} ${value}: pass a safe integer or a bigint.`,
    );
  }
  return BigInt(value);
}

/** Encodes a non-negative integer as unsigned LEB128. Throws on negatives. */
export function encodeUnsigned(
  value: number | bigint,
): Uint8Array<ArrayBuffer> {
  let v = toBigInt(value, "unsigned value");
  if (v < 0n) {
    throw new RangeError(
      `Cannot encode ${v} as unsigned LEB128: the value is negative.`,
    );
  }
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

/** Encodes an integer (any sign) as signed LEB128 (two's complement). */
export function encodeSigned(value: number | bigint): Uint8Array<ArrayBuffer> {
  let v = toBigInt(value, "signed value");
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift on bigint keeps the sign
    const signBitClear = (byte & 0x40) === 0;
    if ((v === 0n && signBitClear) || (v === -1n && !signBitClear)) {
      out.push(byte);
      return Uint8Array.from(out);
    }
    out.push(byte | 0x80);
  }
}

function readGroups(
  bytes: Uint8Array,
  offset: number,
): { value: bigint; shift: bigint; last: number; length: number } {
  let value = 0n;
  let shift = 0n;
  let i = offset;
  for (;;) {
    if (i >= bytes.length) {
      throw new RangeError(
        `Truncated LEB128 value at byte ${offset}: input ended at ${bytes.length}.`,
      );
    }
    const byte = bytes[i++];
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) {
      return { value, shift, last: byte, length: i - offset };
    }
  }
}

/** Decodes an unsigned LEB128 value starting at `offset`. */
export function decodeUnsigned(bytes: Uint8Array, offset = 0): Leb128Decoded {
  const { value, length } = readGroups(bytes, offset);
  return { value, length };
}

/** Decodes a signed LEB128 value starting at `offset`. */
export function decodeSigned(bytes: Uint8Array, offset = 0): Leb128Decoded {
  const { value, shift, last, length } = readGroups(bytes, offset);
  const negative = (last & 0x40) !== 0;
  return { value: negative ? value - (1n << shift) : value, length };
}
