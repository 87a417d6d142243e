/**
 * Importers for the network ops: MatMul, Gemm, Softmax/LogSoftmax,
 * LayerNormalization (→ IR `LayerNorm`), Gelu and Dropout.
 *
 * Softmax before 13 normalised the input coerced to 2-D at `axis` (all dims
 * from `axis` on together). When `axis` is the last axis that is plain
 * Softmax over it; otherwise the importer spells the coercion out as
 * Flatten(axis) → Softmax(-1) → Reshape back to Shape(input).
 *
 * @module
 */

import { attr, intAttr } from "../../ir/graph.ts";
import {
  type ImportContext,
  input,
  type OpEntry,
  output,
  type Refusal,
  simple,
  without,
} from "../importer.ts";

function importSoftmax(ctx: ImportContext): void {
  const n = ctx.node;
  if (n.version >= 13) {
    ctx.emit(n.opType, n.inputs, n.outputs, n.attrs);
    return;
  }
  const x = input(n, 0);
  const axis = intAttr(n.attrs, "axis", 1);
  const rank = ctx.rank(x);
  const last = axis === -1 || (rank !== undefined && axis === rank - 1);
  if (last) {
    ctx.emit(n.opType, [x], n.outputs, { axis: attr.int(-1) });
    return;
  }
  const flat = ctx.fresh(`${n.name}/flat`);
  const normalized = ctx.fresh(`${n.name}/normalized`);
  const shape = ctx.fresh(`${n.name}/shape`);
  ctx.emit("Flatten", [x], [flat], { axis: attr.int(axis) });
  ctx.emit(n.opType, [flat], [normalized], { axis: attr.int(-1) });
  ctx.emit("Shape", [x], [shape]);
  ctx.emit("Reshape", [normalized, shape], n.outputs);
}

function softmaxOp(opType: string): OpEntry {
  return {
    opType,
    versions: [1, 11, 13],
    imported: [1, 11, 13],
    irOps: [opType, "Flatten", "Shape", "Reshape"],
    importer: importSoftmax,
  };
}

/**
 * Dropout imports only in inference form: the training switch must be
 * absent or a constant false (6: `is_test` = 1), as training-mode dropout is
 * random. Before 10 the mask had the input's type rather than bool, so a
 * requested mask is refused there.
 */
const refuseTrainingDropout: Refusal = (node, graph) => {
  if (node.version < 10 && output(node, 1) !== "") {
    return "the mask output of Dropout before opset 10 is not supported";
  }
  if (node.version < 7) {
    return intAttr(node.attrs, "is_test", 0) === 0
      ? "training-mode Dropout (is_test = 0) is random and not supported"
      : undefined;
  }
  const training = input(node, 2);
  if (node.version < 12 || training === "") return undefined;
  const value = graph.constantValue(training);
  if (value !== undefined && value.data.every((v) => v === 0)) return undefined;
  return "training_mode is not a constant false; training-mode Dropout is random and not supported";
};

function importDropout(ctx: ImportContext): void {
  const n = ctx.node;
  // Before 12 the ratio was an attribute and there was no training switch;
  // in inference the ratio does not matter, so it is dropped.
  const inputs = n.version >= 12 ? n.inputs : [input(n, 0)];
  const attrs = without(n.attrs, "ratio", "is_test", "seed");
  ctx.emit("Dropout", inputs, n.outputs, attrs);
}

/** Network ops. */
export const nnEntries: readonly OpEntry[] = [
  simple("MatMul", [1, 9, 13], [1, 9, 13]),
  // Gemm before 7 had a `broadcast` attribute; 7+ broadcast C always.
  simple("Gemm", [1, 6, 7, 9, 11, 13], [7, 9, 11, 13]),
  softmaxOp("Softmax"),
  softmaxOp("LogSoftmax"),
  simple("LayerNormalization", [17], [17], "LayerNorm"),
  simple("Gelu", [20], [20]),
  {
    opType: "Dropout",
    versions: [1, 6, 7, 10, 12, 13, 22],
    imported: [6, 7, 10, 12, 13, 22],
    irOps: ["Dropout"],
    importer: importDropout,
    refuse: refuseTrainingDropout,
  },
];
