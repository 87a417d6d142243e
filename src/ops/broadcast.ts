/**
 * Numpy-style multidirectional broadcasting, shared by the elementwise
 * operators, Where and Expand.
 *
 * @module
 */

import type { Dim } from "../ir/graph.ts";
import { sizeOf, stridesOf } from "../ir/tensor.ts";

/**
 * The broadcast of several shapes, or `undefined` when they do not
 * broadcast. A symbolic dim broadcasts with 1 and with itself.
 */
export function broadcastShapes(
  shapes: readonly (readonly Dim[])[],
): Dim[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) {
        // Two different symbols may still agree at run time; keep the first.
        if (typeof dim === "string" || typeof d === "string") continue;
        return undefined;
      }
    }
    out.push(dim);
  }
  return out;
}

/**
 * For each element of `outShape`, the flat index of the element of an input
 * of shape `inShape` broadcast to it.
 */
export function broadcastIndex(
  inShape: readonly number[],
  outShape: readonly number[],
): Int32Array {
  const n = sizeOf(outShape);
  const index = new Int32Array(n);
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  const stride = new Array<number>(rank).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const o = rank - inShape.length + i;
    stride[o] = inShape[i] === 1 ? 0 : inStrides[i];
  }
  const counter = new Array<number>(rank).fill(0);
  let flat = 0;
  for (let k = 0; k < n; k++) {
    index[k] = flat;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      flat += stride[d];
      if (counter[d] < outShape[d]) break;
      flat -= stride[d] * counter[d];
      counter[d] = 0;
    }
  }
  return index;
}
