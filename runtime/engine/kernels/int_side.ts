/**
 * The outlier side stream of an integer product (NUMERICS.md §3), added
 * element-sparse: Approach 2's k or Approach 1's BFP12 outliers, stored
 * column-gathered by `outlier_map.ts` (`meta` = [|C|, element bytes, side
 * exponent, C…], C strictly increasing; values rows × |C| row-major), are
 * nonzero at a handful of elements, so each nonzero s at (r, C[c]) of the
 * dense side operand X adds s times one row (or column) of the other
 * operand to one output row (or column).
 *
 * Each touched output line is summed on its own into one f64 line (sums of
 * integer products in f64 are exact, whatever the number of terms or the
 * width of s) and then added: fl32(y + fl32(Σ · scale)) — the reference's
 * `Add(main, side)` of two products that each round once, bit for bit —
 * followed, for a MatMul's bias, by fl32(· + b) — the reference's bias
 * `Add` after that sum. The generated SIMD kernels of `int_side_kernels.ts`
 * do the arithmetic; JS here only walks the few nonzero values. A BERT step
 * has a few hundred thousand side terms, and one touched line moves the
 * bias of a whole output out of the GEMM epilogue: as scalar JS loops the
 * two cost about a tenth of the GEMM time.
 *
 * @module
 */

import type { SideKernels } from "./int_side_kernels.ts";

/** Where the side stream sits in `op(A)·op(B)` (A: [m,k], B: [k,n]). */
export interface SideGeometry {
  /** The operand holding the side stream. */
  readonly on: "a" | "b";
  /** Whether that operand is read transposed (X stored [k,m] or [n,k]). */
  readonly trans: boolean;
  /** Whether the other operand is read transposed. */
  readonly otherTrans: boolean;
  /** Output rows. */
  readonly m: number;
  /** Reduction length. */
  readonly k: number;
  /** Output columns. */
  readonly n: number;
}

/** The stored rows R of the side operand X (its tokens). */
export function sideRows(g: SideGeometry): number {
  if (g.on === "a") return g.trans ? g.k : g.m;
  return g.trans ? g.n : g.k;
}

/** One run's side stream, as views over the engine memory. */
export interface SideStream {
  /** Byte address of the other operand's int8 mantissas. */
  readonly other: number;
  /** The side values (rows × `count`), from element `valuesAt`. */
  readonly values: Int8Array | Int16Array;
  /** First element of the values in `values`. */
  readonly valuesAt: number;
  /** The gathered columns C, from element `columnsAt`. */
  readonly columns: Int32Array;
  /** First element of C in `columns`. */
  readonly columnsAt: number;
  /** |C|. */
  readonly count: number;
}

/**
 * The side product of one IntMatMul: line by line (rows when the side is on
 * A, columns when on B), each summed in an f64 line at `acc` (scratch of
 * {@linkcode SideProduct.scratchBytes}) and added into the output.
 */
export class SideProduct {
  readonly #g: SideGeometry;
  readonly #k: SideKernels;
  readonly #acc: number;

  /** A side product of geometry `g` on `kernels`, its line sum at byte `acc`. */
  constructor(g: SideGeometry, kernels: SideKernels, acc: number) {
    this.#g = g;
    this.#k = kernels;
    this.#acc = acc;
  }

  /** Scratch bytes of the line sum of geometry `g`. */
  static scratchBytes(g: SideGeometry): number {
    return 8 * (g.on === "a" ? g.n : g.m);
  }

  /** Whether `side` holds a nonzero value, so some output line changes. */
  touches(side: SideStream): boolean {
    const { values, valuesAt } = side;
    const end = valuesAt + sideRows(this.#g) * side.count;
    for (let i = valuesAt; i < end; i++) if (values[i] !== 0) return true;
    return false;
  }

  /**
   * Adds `side`'s product, scaled by `scale`, into the m × n f32 output at
   * byte `y`: fl32(y + fl32(Σ · scale)) on the touched lines; then, with a
   * bias (n f32 at byte `bias`, 0 for none), fl32(· + b) on every element.
   */
  addTo(side: SideStream, y: number, scale: number, bias: number): void {
    const g = this.#g, { axpy, finish } = this.#k, acc = this.#acc;
    const { other, values, valuesAt, columns, columnsAt, count } = side;
    const byRow = g.on === "a";
    const length = byRow ? g.n : g.m;
    // Element (i, j) of the other operand as the product reads it.
    const [oRow, oCol] = byRow
      ? (g.otherTrans ? [1, g.k] : [g.n, 1]) // op(B)[kk, j]
      : (g.otherTrans ? [1, g.m] : [g.k, 1]); // op(A)[i, kk]
    const [innerStride, step] = byRow ? [oRow, oCol] : [oCol, oRow];
    const [lineBytes, ystride] = byRow ? [4 * g.n, 1] : [4, g.n];
    const rowBytes = 4 * g.n;
    const rows = sideRows(g);
    // side A: X = op(A) → row r += s·op(B)[col, :]; X = op(A)ᵀ → row col += s·op(B)[r, :]
    // side B: X = op(B) → column col += s·op(A)[:, r]; X = op(B)ᵀ → column r += s·op(A)[:, col]
    if (g.trans !== (g.on === "b")) {
      // C holds each column once, so each line is summed whole, then added.
      for (let c = 0; c < count; c++) {
        let first = 1;
        for (let r = 0; r < rows; r++) {
          const s = values[valuesAt + r * count + c];
          if (s === 0) continue;
          axpy(acc, other + r * innerStride, step, s, length, first);
          first = 0;
        }
        const line = y + columns[columnsAt + c] * lineBytes;
        if (first === 0) finish(line, ystride, acc, length, scale, 0);
      }
      if (bias !== 0) this.#k.bias(y, bias, g.m, g.n);
      return;
    }
    // Rows come in order here, so the bias joins each touched row's sum and
    // the untouched rows between them get it alone.
    const fused = byRow ? bias : 0;
    let done = 0;
    for (let r = 0; r < rows; r++) {
      let first = 1;
      for (let c = 0; c < count; c++) {
        const s = values[valuesAt + r * count + c];
        if (s === 0) continue;
        const base = other + columns[columnsAt + c] * innerStride;
        axpy(acc, base, step, s, length, first);
        first = 0;
      }
      if (first === 1) continue;
      if (fused !== 0 && r > done) {
        this.#k.bias(y + done * rowBytes, bias, r - done, g.n);
      }
      finish(y + r * lineBytes, ystride, acc, length, scale, fused);
      if (fused !== 0) done = r + 1;
    }
    if (bias !== 0) this.#k.bias(y + done * rowBytes, bias, g.m - done, g.n);
  }
}
