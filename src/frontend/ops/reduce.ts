/**
 * Importers for reductions. Before ReduceSum-13 and the other Reduce*-18,
 * `axes` was an attribute; the IR takes it as an optional i64 input, so the
 * attribute becomes a constant operand (absent axes still mean "all axes",
 * as `noop_with_empty_axes` defaults to 0).
 *
 * @module
 */

import type { OpEntry } from "../importer.ts";
import { axesAttrToInput } from "./shape.ts";

function reduceOp(
  opType: string,
  versions: readonly number[],
  inputSince: number,
): OpEntry {
  return {
    opType,
    versions,
    imported: versions,
    irOps: [opType],
    importer: (ctx) =>
      ctx.node.version < inputSince
        ? axesAttrToInput(ctx)
        : ctx.emit(opType, ctx.node.inputs, ctx.node.outputs, ctx.node.attrs),
  };
}

/** Reductions. */
export const reduceEntries: readonly OpEntry[] = [
  reduceOp("ReduceSum", [1, 11, 13], 13),
  reduceOp("ReduceMean", [1, 11, 13, 18], 18),
  reduceOp("ReduceProd", [1, 11, 13, 18], 18),
  // ReduceMax/Min-12 added int8/uint8 and 20 added bool; same semantics.
  reduceOp("ReduceMax", [1, 11, 12, 13, 18, 20], 18),
  reduceOp("ReduceMin", [1, 11, 12, 13, 18, 20], 18),
  reduceOp("ReduceSumSquare", [1, 11, 13, 18], 18),
  reduceOp("ReduceL2", [1, 11, 13, 18], 18),
];
