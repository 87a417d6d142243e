/**
 * TypeScript reference packers: the layouts of `pack.ts` written element by
 * element from strided views. The generated packers (`pack_wasm.ts`) must
 * produce the same bytes; tests compare the two.
 * @module
 */

import type { MatrixData, MatrixView } from "./matrix.ts";
import {
  expectARange,
  expectOperandType,
  kSteps,
  packedASize,
} from "./pack.ts";
import { gemmLayout, type GemmParams, offsetOfA } from "./params.ts";

/** Element (i, j) of `v`, or 0 outside it (padding). */
function at(v: MatrixView<MatrixData>, i: number, j: number): number {
  return i < v.rows && j < v.cols
    ? v.data[v.offset + i * v.rowStride + j * v.colStride]
    : 0;
}

/** Packs A (m × k) into `mem` at byte offset `ptr` (aligned to 4). */
export function referencePackA(
  p: GemmParams,
  a: MatrixView,
  mem: ArrayBufferLike,
  ptr: number,
): void {
  expectOperandType(p, a, "A");
  expectARange(p, a);
  const steps = kSteps(p, a.cols);
  const tiles = Math.ceil(a.rows / p.mr);
  switch (p.variant) {
    case "dot16": {
      const out = new Int16Array(mem, ptr, packedASize(p, a.rows, a.cols) / 2);
      let o = 0;
      for (let t = 0; t < tiles; t++) {
        for (let s = 0; s < steps; s++) {
          for (let r = 0; r < p.mr; r++) {
            out[o++] = at(a, t * p.mr + r, 2 * s);
            out[o++] = at(a, t * p.mr + r, 2 * s + 1);
          }
        }
      }
      return;
    }
    case "relaxed":
    case "relaxed7":
    case "relaxed8": {
      const out = new Uint8Array(mem, ptr, packedASize(p, a.rows, a.cols));
      let o = 0;
      for (let t = 0; t < tiles; t++) {
        for (let s = 0; s < steps; s++) {
          for (let r = 0; r < p.mr; r++) {
            for (let q = 0; q < 4; q++) {
              const x = at(a, t * p.mr + r, 4 * s + q);
              if (p.variant !== "relaxed") {
                out[o + q] = x + offsetOfA(p);
              } else {
                const lo = Math.min(x + 127, 127);
                out[o + q] = lo;
                out[o + 4 + q] = x + 127 - lo;
              }
            }
            o += p.variant === "relaxed" ? 8 : 4;
          }
        }
      }
      return;
    }
    case "madd":
    case "muladd": {
      const out = new Float32Array(
        mem,
        ptr,
        packedASize(p, a.rows, a.cols) / 4,
      );
      let o = 0;
      for (let t = 0; t < tiles; t++) {
        for (let s = 0; s < steps; s++) {
          for (let r = 0; r < p.mr; r++) out[o++] = at(a, t * p.mr + r, s);
        }
      }
      return;
    }
  }
}

/** Packs B (k × n) into `mem` at byte offset `ptr` (aligned to 16). */
export function referencePackB(
  p: GemmParams,
  b: MatrixView,
  mem: ArrayBufferLike,
  ptr: number,
): void {
  expectOperandType(p, b, "B");
  const steps = kSteps(p, b.rows);
  const panels = Math.ceil(b.cols / p.nr);
  const { bHeaderBytes } = gemmLayout(p);
  const panelBytes = bHeaderBytes + steps * p.nr * 4;
  for (let j = 0; j < panels; j++) {
    const base = ptr + j * panelBytes;
    const n0 = j * p.nr;
    switch (p.variant) {
      case "dot16": {
        const out = new Int16Array(mem, base, panelBytes / 2);
        let o = 0;
        for (let s = 0; s < steps; s++) {
          for (let c = 0; c < p.nr; c++) {
            out[o++] = at(b, 2 * s, n0 + c);
            out[o++] = at(b, 2 * s + 1, n0 + c);
          }
        }
        break;
      }
      case "relaxed":
      case "relaxed7":
      case "relaxed8": {
        const header = new Int32Array(mem, base, p.nr);
        const out = new Int8Array(mem, base + bHeaderBytes, steps * p.nr * 4);
        for (let c = 0; c < p.nr; c++) {
          let sum = 0;
          for (let k = 0; k < b.rows; k++) sum += at(b, k, n0 + c);
          header[c] = -offsetOfA(p) * sum;
        }
        let o = 0;
        for (let s = 0; s < steps; s++) {
          for (let c = 0; c < p.nr; c++) {
            for (let q = 0; q < 4; q++) out[o++] = at(b, 4 * s + q, n0 + c);
          }
        }
        break;
      }
      case "madd":
      case "muladd": {
        const out = new Float32Array(mem, base, panelBytes / 4);
        let o = 0;
        for (let s = 0; s < steps; s++) {
          for (let c = 0; c < p.nr; c++) out[o++] = at(b, s, n0 + c);
        }
        break;
      }
    }
  }
}
