/**
 * Broadcasting as rows: the output is split into rows, each a run of its
 * trailing dims, and each operand contributes a row start per output row
 * and a step of 0 (broadcast) or 1 along the row. Inner loops then run over
 * contiguous rows, so per-row overhead is negligible.
 *
 * A row spans as many trailing dims as every operand allows: each operand
 * must be either wholly present (read contiguously) or wholly broadcast
 * (one value) along the row. So same-shaped operands and scalars make one
 * row of the whole output, a bias over the last dim makes hidden-long
 * rows, and `[B,1,S,H]` against `[B,N,S,H]` makes `S·H`-long rows.
 *
 * @module
 */

import { broadcastIndex } from "../../../src/ops/broadcast.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";

/** How an operand is read along the output's rows. */
export interface OperandRows {
  /** Element index of the operand where each output row starts. */
  readonly starts: Int32Array;
  /** Element step along a row: 0 when broadcast, else 1. */
  readonly step: 0 | 1;
}

/** The row decomposition of a broadcast. */
export interface RowPlan {
  /** Elements per row. */
  readonly width: number;
  /** Number of rows. */
  readonly rows: number;
  /** Per operand, how it is read. */
  readonly operands: readonly OperandRows[];
}

/**
 * How an operand is read along the row grown so far: `either` while the row
 * has only size-1 output dims, `present` when its dims equal the output's
 * (contiguous), `broadcast` when they are all 1 (one value).
 */
type Along = "either" | "present" | "broadcast";

/** Rows for reading operands of `shapes` broadcast to `out`. */
export function rowPlan(
  shapes: readonly (readonly number[])[],
  out: readonly number[],
): RowPlan {
  const padded = shapes.map((s) => [
    ...new Array<number>(out.length - s.length).fill(1),
    ...s,
  ]);
  const along = padded.map((): Along => "either");
  // The row is out[k..]; the last dim always belongs to it.
  let k = out.length;
  while (k > 0) {
    const d = k - 1;
    if (out[d] !== 1) {
      const next = padded.map((p): Along =>
        p[d] === 1 ? "broadcast" : "present"
      );
      const fits = next.every((n, i) =>
        along[i] === "either" || along[i] === n
      );
      if (!fits) break;
      next.forEach((n, i) => along[i] = n);
    }
    k--;
  }
  const width = sizeOf(out.slice(k));
  const prefix = out.slice(0, k);
  const rows = sizeOf(prefix);
  const operands = padded.map((p, i) => {
    const block = sizeOf(p.slice(k));
    const index = broadcastIndex(p.slice(0, k), prefix);
    const step = along[i] === "broadcast" ? 0 : 1;
    return { starts: index.map((x) => x * block), step } as OperandRows;
  });
  return { width, rows, operands };
}
