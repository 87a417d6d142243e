/**
 * `weights.bin`: tensors back to back, each at an 8-byte aligned offset,
 * holding its elements exactly as the IR keeps them in memory (so a digest
 * in the IR text matches the data read back, and a round trip is
 * bit-identical). Offsets, dtypes and shapes live in the manifest.
 *
 * @module
 */

import { allocate } from "../../src/ir/dtype.ts";
import { sizeOf, type Tensor } from "../../src/ir/tensor.ts";
import { ArtifactError, type StoredTensor } from "./manifest.ts";

// Raw bytes are little-endian only on a little-endian host, which is every
// platform JS engines ship on; the file format is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkHost(): void {
  if (!LITTLE_ENDIAN) {
    throw new ArtifactError(
      "weights.bin is little-endian and this host is not; artifacts need a little-endian host.",
    );
  }
}

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Lays `tensors` out in one buffer; returns it and each tensor's entry. */
export function packWeights(
  tensors: readonly (readonly [string, Tensor])[],
): { bytes: Uint8Array<ArrayBuffer>; entries: Map<string, StoredTensor> } {
  checkHost();
  const entries = new Map<string, StoredTensor>();
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    entries.set(name, {
      name,
      dtype: t.dtype,
      shape: [...t.shape],
      offset,
      bytes,
    });
    offset = Math.ceil((offset + bytes) / 8) * 8;
  }
  const out = new Uint8Array(offset);
  for (const [name, t] of tensors) {
    out.set(bytesOf(t), entries.get(name)!.offset);
  }
  return { bytes: out, entries };
}

/** A copy of the tensor `spec` describes, read from `weights`. */
export function readTensor(weights: Uint8Array, spec: StoredTensor): Tensor {
  checkHost();
  const data = allocate(spec.dtype, sizeOf(spec.shape));
  if (
    data.byteLength !== spec.bytes || spec.offset + spec.bytes > weights.length
  ) {
    throw new ArtifactError(
      `weights.bin does not hold '${spec.name}' (${spec.dtype}[${spec.shape}], ${spec.bytes} bytes at ${spec.offset} of ${weights.length}); the file is truncated or belongs to another artifact.`,
    );
  }
  new Uint8Array(data.buffer).set(
    weights.subarray(spec.offset, spec.offset + spec.bytes),
  );
  return { dtype: spec.dtype, shape: [...spec.shape], data };
}
