/**
 * Strided matrix views: how the three training products read their operands
 * without materialising a transpose. A view's element (i, j) is
 * `data[offset + i·rowStride + j·colStride]`.
 * @module
 */

/** Element storage a GEMM operand may use. */
export type MatrixData = Int8Array | Int16Array | Float32Array;

/** A strided rows × cols window onto `data`. */
export interface MatrixView<T extends MatrixData = MatrixData> {
  /** Backing elements. */
  readonly data: T;
  /** Index of element (0, 0). */
  readonly offset: number;
  /** Row count. */
  readonly rows: number;
  /** Column count. */
  readonly cols: number;
  /** Index step between rows. */
  readonly rowStride: number;
  /** Index step between columns. */
  readonly colStride: number;
}

/** A row-major rows × cols view of `data` starting at element 0. */
export function rowMajor<T extends MatrixData>(
  data: T,
  rows: number,
  cols: number,
): MatrixView<T> {
  if (data.length < rows * cols) {
    throw new RangeError(
      `A ${rows}×${cols} matrix needs ${
        rows * cols
      } elements, the array has ${data.length}.`,
    );
  }
  return { data, offset: 0, rows, cols, rowStride: cols, colStride: 1 };
}

/** The transpose of `v`, as a view (no copy). */
export function transposed<T extends MatrixData>(
  v: MatrixView<T>,
): MatrixView<T> {
  return {
    data: v.data,
    offset: v.offset,
    rows: v.cols,
    cols: v.rows,
    rowStride: v.colStride,
    colStride: v.rowStride,
  };
}

/** The training product a GEMM computes for a linear layer Y = X·W. */
export type TrainingProduct = "forward" | "gradInput" | "gradWeight";

/**
 * The A and B views for one product of a linear layer with X[M,K], W[K,N],
 * dY[M,N] (all row-major): forward Y = X·W, gradInput dX = dY·Wᵀ,
 * gradWeight dW = Xᵀ·dY.
 */
export function productOperands<TA extends MatrixData, TB extends MatrixData>(
  product: TrainingProduct,
  operands: {
    x?: MatrixView<TA>;
    w?: MatrixView<TB>;
    dy?: MatrixView<TA | TB>;
  },
): { a: MatrixView; b: MatrixView } {
  const need = <V>(v: V | undefined, what: string): V => {
    if (v === undefined) {
      throw new Error(`Product ${product} needs operand ${what}.`);
    }
    return v;
  };
  switch (product) {
    case "forward":
      return { a: need(operands.x, "x"), b: need(operands.w, "w") };
    case "gradInput":
      return {
        a: need(operands.dy, "dy"),
        b: transposed(need(operands.w, "w")),
      };
    case "gradWeight":
      return {
        a: transposed(need(operands.x, "x")),
        b: need(operands.dy, "dy"),
      };
  }
}
