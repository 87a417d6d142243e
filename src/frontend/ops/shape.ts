/**
 * Importers for ops that rearrange or describe shapes. Unsqueeze and Squeeze
 * before opset 13 took `axes` as an attribute; the IR takes it as an i64
 * input, so those become a constant operand.
 *
 * @module
 */

import { intsAttr } from "../../ir/graph.ts";
import {
  i64Vector,
  type Importer,
  input,
  type OpEntry,
  simple,
  without,
} from "../importer.ts";

/** Versions 23–25 only widened the element types (float4, float8e8m0, int2). */
const LATE = [21, 23, 24, 25];

/** Moves an `axes` attribute into an i64 constant input (when present). */
export const axesAttrToInput: Importer = (ctx) => {
  const n = ctx.node;
  const axes = intsAttr(n.attrs, "axes");
  const inputs = [input(n, 0)];
  if (axes !== undefined) {
    inputs.push(ctx.constant(`${n.name}/axes`, i64Vector(axes)));
  }
  ctx.emit(n.opType, inputs, n.outputs, without(n.attrs, "axes"));
};

/**
 * Concat. ONNX requires equal ranks, but ONNX Runtime's model-shrinking
 * tools leave Concats that join 1-D shape pieces with rank-0 constants, and
 * ONNX Runtime runs them as if the scalars were 1-D. When every other input
 * is known to be 1-D, such scalars are replaced by 1-D copies (with a
 * warning) rather than refusing a model ONNX Runtime accepts.
 */
const importConcat: Importer = (ctx) => {
  const n = ctx.node;
  const scalar = (name: string) => ctx.constantValue(name)?.shape.length === 0;
  const repair = n.inputs.some(scalar) &&
    n.inputs.every((name) => scalar(name) || ctx.rank(name) === 1);
  if (!repair) {
    ctx.emit("Concat", n.inputs, n.outputs, n.attrs);
    return;
  }
  const inputs = n.inputs.map((name) => {
    if (!scalar(name)) return name;
    const t = ctx.constantValue(name)!;
    return ctx.constant(`${name}/1d`, { ...t, shape: [1] });
  });
  ctx.warn(
    "Concat nodes joined rank-0 constants with 1-D tensors, which ONNX forbids but ONNX Runtime accepts; the constants were made 1-D",
  );
  ctx.emit("Concat", inputs, n.outputs, n.attrs);
};

function axesOp(opType: string): OpEntry {
  return {
    opType,
    versions: [1, 11, 13, ...LATE],
    imported: [1, 11, 13, ...LATE],
    irOps: [opType],
    importer: (ctx) =>
      ctx.node.version < 13
        ? axesAttrToInput(ctx)
        : ctx.emit(opType, ctx.node.inputs, ctx.node.outputs, ctx.node.attrs),
  };
}

/** Shape ops. */
export const shapeEntries: readonly OpEntry[] = [
  // Reshape-1 took the shape as an attribute; 5+ take it as an input.
  simple("Reshape", [1, 5, 13, 14, 19, ...LATE], [5, 13, 14, 19, ...LATE]),
  simple("Transpose", [1, 13, ...LATE], [1, 13, ...LATE]),
  axesOp("Unsqueeze"),
  axesOp("Squeeze"),
  {
    opType: "Concat",
    versions: [1, 4, 11, 13],
    imported: [4, 11, 13],
    irOps: ["Concat"],
    importer: importConcat,
  },
  simple("Flatten", [1, 9, 11, 13, ...LATE], [1, 9, 11, 13, ...LATE]),
  simple("Shape", [1, 13, 15, 19, ...LATE], [1, 13, 15, 19, ...LATE]),
  simple("Size", [1, 13, 19, ...LATE], [1, 13, 19, ...LATE]),
  simple("Expand", [8, 13], [8, 13]),
  simple(
    "Identity",
    [1, 13, 14, 16, 19, ...LATE],
    [1, 13, 14, 16, 19, ...LATE],
  ),
];
