/**
 * Scalar TypeScript reference GEMMs that the generated kernels must match bit
 * for bit: integer products accumulate exactly (within i32), then the same f32
 * rounding sequence as the kernel epilogue: fround(acc) · scale, + bias.
 * @module
 */

import type { MatrixView } from "./matrix.ts";

/** Options shared by the references. */
export interface ReferenceEpilogue {
  /** Output scale (a power of two for the integer families). */
  scale?: number;
  /** Per-column f32 bias. */
  bias?: Float32Array;
}

function checkShapes(a: MatrixView, b: MatrixView): void {
  if (a.cols !== b.rows) {
    throw new RangeError(
      `GEMM shapes do not chain: A is ${a.rows}×${a.cols}, B is ${b.rows}×${b.cols}.`,
    );
  }
}

const get = (v: MatrixView, i: number, j: number) =>
  v.data[v.offset + i * v.rowStride + j * v.colStride];

/** Exact integer product A·B as row-major i32 (wrapping like the kernel). */
export function referenceGemmI32(a: MatrixView, b: MatrixView): Int32Array {
  checkShapes(a, b);
  const out = new Int32Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let acc = 0;
      for (let k = 0; k < a.cols; k++) {
        acc = (acc + Math.imul(get(a, i, k), get(b, k, j))) | 0;
      }
      out[i * b.cols + j] = acc;
    }
  }
  return out;
}

/** Integer product then the kernel's f32 epilogue, row-major. */
export function referenceGemmIntToF32(
  a: MatrixView,
  b: MatrixView,
  { scale = 1, bias }: ReferenceEpilogue = {},
): Float32Array {
  const acc = referenceGemmI32(a, b);
  const out = new Float32Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    const scaled = Math.fround(Math.fround(acc[i]) * scale);
    out[i] = bias ? Math.fround(scaled + bias[i % b.cols]) : scaled;
  }
  return out;
}

/**
 * f32 product accumulated sequentially over k with a rounding after every
 * multiply and add (what the `muladd` variant does), then + bias.
 */
export function referenceGemmF32(
  a: MatrixView,
  b: MatrixView,
  { bias }: ReferenceEpilogue = {},
): Float32Array {
  checkShapes(a, b);
  const out = new Float32Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let acc = 0;
      for (let k = 0; k < a.cols; k++) {
        acc = Math.fround(acc + Math.fround(get(a, i, k) * get(b, k, j)));
      }
      out[i * b.cols + j] = bias ? Math.fround(acc + bias[j]) : acc;
    }
  }
  return out;
}
