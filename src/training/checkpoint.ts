/**
 * Training state ↔ bytes: the checkpoint format. No I/O here (see
 * `checkpoint_file.ts`), so a browser can keep checkpoints in IndexedDB.
 *
 * Layout, all integers little-endian:
 *
 * ```text
 * offset      size  content
 * 0           8     magic "TESSCKPT"
 * 8           4     u32 format version (1)
 * 12          4     u32 H: header length, a multiple of 4
 * 16          H     header: UTF-8 JSON, padded with spaces
 * 16+H        P     payload: each tensor's f32 elements, in header order
 * 16+H+P      4     u32 CRC-32 (IEEE) of every byte before it
 * ```
 *
 * The header is `{"step", "seed", "payloadBytes": P, "tensors": [{"name",
 * "dtype": "f32", "shape", "offset"}]}`, offsets counted from the payload
 * start. Payload bytes are copied, never converted, so a round trip is
 * bit-identical (NaN payloads included). The padding keeps every tensor
 * 4-byte aligned for a zero-copy reader.
 *
 * @module
 */

import { sizeOf, type Tensor } from "../ir/tensor.ts";
import type { TrainingState } from "./state.ts";

const MAGIC = "TESSCKPT";
const VERSION = 1;
const PREFIX = 16;

/** Bytes that are not a whole, intact checkpoint. */
export class CheckpointError extends Error {
  /** What was being read: a file path, or "checkpoint". */
  readonly source: string;

  /** Builds the error; `message` says what is wrong and what to do. */
  constructor(source: string, message: string) {
    super(`Checkpoint '${source}': ${message}`);
    this.name = "CheckpointError";
    this.source = source;
  }
}

interface TensorEntry {
  name: string;
  dtype: "f32";
  shape: number[];
  offset: number;
}

interface Header {
  step: number;
  seed: number;
  payloadBytes: number;
  tensors: TensorEntry[];
}

// The payload is copied as raw bytes, which are little-endian only on a
// little-endian host — every platform JS engines ship on, but check.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 (IEEE 802.3, as zlib and PNG compute it) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Encodes `state` as checkpoint bytes (see the module documentation). */
export function encodeState(state: TrainingState): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error("Checkpoints need a little-endian host.");
  if (!isCount(state.step) || !isCount(state.seed) || state.seed > 0xffffffff) {
    throw new CheckpointError(
      "checkpoint",
      `step ${state.step} and seed ${state.seed} must be non-negative integers (the seed 32-bit).`,
    );
  }
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of state.tensors) {
    if (t.dtype !== "f32" || t.data.length !== sizeOf(t.shape)) {
      throw new CheckpointError(
        "checkpoint",
        `tensor '${name}' is ${t.dtype}[${t.shape}] with ${t.data.length} elements; only whole f32 tensors are saved.`,
      );
    }
    tensors.push({ name, dtype: "f32", shape: [...t.shape], offset });
    offset += t.data.byteLength;
  }
  const header: Header = {
    step: state.step,
    seed: state.seed,
    payloadBytes: offset,
    tensors,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil(json.length / 4) * 4;
  const total = PREFIX + headerBytes + offset + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, headerBytes, true);
  out.fill(0x20, PREFIX, PREFIX + headerBytes);
  out.set(json, PREFIX);
  let at = PREFIX + headerBytes;
  for (const t of state.tensors.values()) {
    out.set(bytesOf(t), at);
    at += t.data.byteLength;
  }
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

/**
 * Decodes checkpoint bytes; throws {@linkcode CheckpointError} naming
 * `source` when they are truncated, corrupt or of another format.
 */
export function decodeState(
  bytes: Uint8Array,
  source = "checkpoint",
): TrainingState {
  const fail = (message: string): never => {
    throw new CheckpointError(source, message);
  };
  const truncated = (want: number) =>
    fail(
      `it is truncated: ${bytes.length} bytes where ${want} are needed; an interrupted copy or save cut it short — use an earlier checkpoint.`,
    );
  if (bytes.length < PREFIX) truncated(PREFIX + 4);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    fail(`it is not a tessera checkpoint (no "${MAGIC}" magic).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) {
    fail(
      `format version ${version} is not supported (this build reads ${VERSION}).`,
    );
  }
  const headerBytes = view.getUint32(12, true);
  if (bytes.length < PREFIX + headerBytes + 4) {
    truncated(PREFIX + headerBytes + 4);
  }
  const header = parseHeader(
    bytes.subarray(PREFIX, PREFIX + headerBytes),
    fail,
  );
  const crcAt = PREFIX + headerBytes + header.payloadBytes;
  if (bytes.length < crcAt + 4) truncated(crcAt + 4);
  if (bytes.length > crcAt + 4) {
    fail(
      `it has ${
        bytes.length - crcAt - 4
      } bytes after its checksum; it is corrupt.`,
    );
  }
  const stored = view.getUint32(crcAt, true);
  const actual = crc32(bytes.subarray(0, crcAt));
  if (stored !== actual) {
    fail(
      `checksum mismatch (stored ${hex(stored)}, computed ${
        hex(actual)
      }); the file is corrupt — use an earlier checkpoint.`,
    );
  }
  const payload = PREFIX + headerBytes;
  const tensors = new Map<string, Tensor>();
  for (const e of header.tensors) {
    const start = payload + e.offset;
    const end = start + sizeOf(e.shape) * 4;
    // slice() copies into a fresh, aligned buffer the state then owns.
    const data = new Float32Array(bytes.slice(start, end).buffer);
    tensors.set(e.name, { dtype: "f32", shape: e.shape, data });
  }
  return { step: header.step, seed: header.seed, tensors };
}

function hex(x: number): string {
  return x.toString(16).padStart(8, "0");
}

const isCount = (x: unknown): x is number =>
  typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/** Parses and checks the header: tensors tile the payload exactly. */
function parseHeader(bytes: Uint8Array, fail: (m: string) => never): Header {
  let header: Header;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes),
    );
  } catch {
    return fail("its header is not valid JSON; the file is corrupt.");
  }
  const ok = typeof header === "object" && header !== null &&
    isCount(header.step) && isCount(header.seed) &&
    header.seed <= 0xffffffff && isCount(header.payloadBytes) &&
    Array.isArray(header.tensors);
  if (!ok) fail("its header lacks step, seed, payloadBytes or tensors.");
  let offset = 0;
  const names = new Set<string>();
  for (const e of header.tensors) {
    const valid = typeof e?.name === "string" && !names.has(e.name) &&
      e.dtype === "f32" && Array.isArray(e.shape) && e.shape.every(isCount) &&
      e.offset === offset;
    if (!valid) fail(`its header has a bad tensor entry ${JSON.stringify(e)}.`);
    names.add(e.name);
    offset += sizeOf(e.shape) * 4;
  }
  if (offset !== header.payloadBytes) {
    fail(
      `its tensors need ${offset} payload bytes, the header says ${header.payloadBytes}.`,
    );
  }
  return header;
}
