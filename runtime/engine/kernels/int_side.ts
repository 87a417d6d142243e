/**
 * The outlier side stream of an integer product (NUMERICS.md §3), added
 * element-sparse: Approach 2's k or Approach 1's BFP12 outliers, stored
 * column-gathered by `outlier_map.ts` (`meta` = [|C|, element bytes, side
 * exponent, C…], values rows × |C| row-major), are nonzero at a handful of
 * elements, so each nonzero s at (r, C[c]) of the dense side operand X adds
 * s times one row (or column) of the other operand to one output row (or
 * column). Sums of integer products in f64 are exact, and each touched
 * output element becomes fl32(y + fl32(Σ · scale)) — the reference's
 * `Add(main, side)` of two products that each round once, bit for bit.
 *
 * @module
 */

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

/** y[at + t·step] += s·x[base + t·step'] for t < length, in f64. */
function axpy(
  acc: Float64Array,
  at: number,
  s: number,
  x: Int8Array,
  base: number,
  step: number,
  length: number,
): void {
  for (let t = 0; t < length; t++) acc[at + t] += s * x[base + t * step];
}

/**
 * The side product of one IntMatMul: integer sums per touched output line
 * (rows when the side is on A, columns when on B), in f64 buffers reused
 * across runs, then added into the output.
 */
export class SideProduct {
  readonly #g: SideGeometry;
  readonly #byRow: boolean;
  readonly #length: number;
  readonly #slotOf: Int32Array;
  readonly #touched: number[] = [];
  #sums = new Float64Array(0);

  /** A side product of geometry `g`. */
  constructor(g: SideGeometry) {
    this.#g = g;
    this.#byRow = g.on === "a";
    this.#length = this.#byRow ? g.n : g.m;
    this.#slotOf = new Int32Array(this.#byRow ? g.m : g.n).fill(-1);
  }

  /** How many output lines the last {@linkcode SideProduct.sum} touched. */
  get touched(): number {
    return this.#touched.length;
  }

  /**
   * Sums the side product: `other` holds the other operand's int8
   * mantissas from element `otherAt`, `values` the side stream (rows ×
   * `count`) from element `valuesAt`, `columns` its columns C from
   * element `columnsAt`.
   */
  sum(
    other: Int8Array,
    otherAt: number,
    values: Int8Array | Int16Array,
    valuesAt: number,
    columns: Int32Array,
    columnsAt: number,
    count: number,
  ): void {
    const g = this.#g, length = this.#length;
    for (const line of this.#touched) this.#slotOf[line] = -1;
    this.#touched.length = 0;
    // Element (i, j) of the other operand as the product reads it.
    const [oRow, oCol] = this.#byRow
      ? (g.otherTrans ? [1, g.k] : [g.n, 1]) // op(B)[kk, j]
      : (g.otherTrans ? [1, g.m] : [g.k, 1]); // op(A)[i, kk]
    const [innerStride, step] = this.#byRow ? [oRow, oCol] : [oCol, oRow];
    // side A: X = op(A) → row r += s·op(B)[col, :]; X = op(A)ᵀ → row col += s·op(B)[r, :]
    // side B: X = op(B) → column col += s·op(A)[:, r]; X = op(B)ᵀ → column r += s·op(A)[:, col]
    const byColumn = g.trans !== (g.on === "b");
    const rows = sideRows(g);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < count; c++) {
        const s = values[valuesAt + r * count + c];
        if (s === 0) continue;
        const col = columns[columnsAt + c];
        const line = byColumn ? col : r;
        const inner = byColumn ? r : col;
        const base = otherAt + inner * innerStride;
        // The slot first: taking one may grow (replace) the sums buffer.
        const at = this.#slot(line) * length;
        axpy(this.#sums, at, s, other, base, step, length);
      }
    }
  }

  /** The f64 slot of output line `line`, zeroed when first touched. */
  #slot(line: number): number {
    let slot = this.#slotOf[line];
    if (slot >= 0) return slot;
    slot = this.#touched.length;
    this.#touched.push(line);
    this.#slotOf[line] = slot;
    const need = (slot + 1) * this.#length;
    if (need > this.#sums.length) {
      const grown = new Float64Array(Math.max(need, 2 * this.#sums.length));
      grown.set(this.#sums);
      this.#sums = grown;
    }
    this.#sums.fill(0, slot * this.#length, need);
    return slot;
  }

  /**
   * Adds the summed side product into the m × n output `y` (from element
   * `yAt`): fl32(y + fl32(Σ · scale)) on the touched lines — the
   * reference's `Add(main, side)`, side being +0 elsewhere — then, with
   * `bias` (n values from element `biasAt` of `y`'s buffer), fl32(· + b)
   * on every element, the reference's bias `Add` after that sum.
   */
  addTo(y: Float32Array, yAt: number, scale: number, biasAt = -1): void {
    const { m, n } = this.#g;
    const sums = this.#sums, length = this.#length;
    if (biasAt < 0 || !this.#byRow) {
      for (let slot = 0; slot < this.#touched.length; slot++) {
        const line = this.#touched[slot];
        const [start, step] = this.#byRow ? [line * n, 1] : [line, n];
        for (let t = 0; t < length; t++) {
          const at = yAt + start + t * step;
          y[at] = y[at] + Math.fround(sums[slot * length + t] * scale);
        }
      }
      if (biasAt >= 0) addBias(y, yAt, m, n, biasAt);
      return;
    }
    for (let i = 0; i < m; i++) {
      const slot = this.#slotOf[i], row = yAt + i * n;
      if (slot < 0) {
        for (let j = 0; j < n; j++) y[row + j] = y[row + j] + y[biasAt + j];
        continue;
      }
      for (let j = 0; j < n; j++) {
        const sum = Math.fround(
          y[row + j] + Math.fround(sums[slot * n + j] * scale),
        );
        y[row + j] = sum + y[biasAt + j];
      }
    }
  }
}

/**
 * y[i, j] = fl32(y[i, j] + b[j]) over an m × n output; storing the f64 sum
 * of two f32 values into f32 rounds it once, like the reference's Add.
 */
export function addBias(
  y: Float32Array,
  yAt: number,
  m: number,
  n: number,
  biasAt: number,
): void {
  for (let i = 0; i < m; i++) {
    const row = yAt + i * n;
    for (let j = 0; j < n; j++) y[row + j] = y[row + j] + y[biasAt + j];
  }
}
