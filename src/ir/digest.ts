/**
 * Content digests of constant data, so an IR dump can name a large weight
 * without printing it and a parser can check that supplied data matches.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

const DIGESTS = new WeakMap<Tensor, string>();

/**
 * Marks a tensor whose data is not held (a parsed dump without weights) with
 * the digest its data had, so printing it again gives the same text.
 */
export function setDigest(t: Tensor, digest: string): void {
  DIGESTS.set(t, digest);
}

/** FNV-1a (32-bit) over the tensor's bytes, as 8 hex digits; cached. */
export function digestOf(t: Tensor): string {
  const cached = DIGESTS.get(t);
  if (cached !== undefined) return cached;
  const bytes = new Uint8Array(
    t.data.buffer,
    t.data.byteOffset,
    t.data.byteLength,
  );
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  const digest = (h >>> 0).toString(16).padStart(8, "0");
  DIGESTS.set(t, digest);
  return digest;
}
