/**
 * Broadcasting as rows: the output is split into rows along its last dim,
 * and each operand contributes a row start per output row and a step of 0
 * (broadcast) or 1 along the row. Inner loops then run over contiguous
 * rows, which in BERT are hidden- or sequence-long, so per-row overhead is
 * negligible.
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

/** Rows for reading operands of `shapes` broadcast to `out`. */
export function rowPlan(
  shapes: readonly (readonly number[])[],
  out: readonly number[],
): RowPlan {
  // Same-shaped operands read as one contiguous row.
  if (
    shapes.every((s) => sizeOf(s) === sizeOf(out) && s.join() === out.join())
  ) {
    const one = { starts: Int32Array.of(0), step: 1 as const };
    return { width: sizeOf(out), rows: 1, operands: shapes.map(() => one) };
  }
  const width = out.length === 0 ? 1 : out[out.length - 1];
  const prefix = out.slice(0, -1);
  const rows = sizeOf(prefix);
  const operands = shapes.map((s) => {
    const padded = [...new Array(out.length - s.length).fill(1), ...s];
    const last = padded.length === 0 ? 1 : padded[padded.length - 1];
    const step = last === 1 && width !== 1 ? 0 : 1;
    const index = broadcastIndex(padded.slice(0, -1), prefix);
    return { starts: index.map((i) => i * last), step } as OperandRows;
  });
  return { width, rows, operands };
}
