/**
 * Importers for ops that make values: Constant (which becomes a graph
 * constant, not a node), ConstantOfShape, Range, Cast and CastLike.
 *
 * @module
 */

import type { Attr } from "../../ir/graph.ts";
import { type Tensor, tensor } from "../../ir/tensor.ts";
import { type ImportContext, type OpEntry, simple } from "../importer.ts";

const LATE = [21, 23, 24, 25];

/** The tensor a Constant attribute denotes, or a reason it has none. */
function constantValue(key: string, a: Attr): Tensor | string {
  switch (key) {
    case "value":
      return a.kind === "tensor" ? a.value : "'value' is not a tensor";
    case "value_float":
      return a.kind === "float"
        ? tensor("f32", [], [a.value])
        : "'value_float' is not a float";
    case "value_floats":
      return a.kind === "floats"
        ? tensor("f32", [a.value.length], a.value)
        : "'value_floats' is not a float list";
    case "value_int":
      return a.kind === "int"
        ? tensor("i64", [], [a.value])
        : "'value_int' is not an int";
    case "value_ints":
      return a.kind === "ints"
        ? tensor("i64", [a.value.length], a.value)
        : "'value_ints' is not an int list";
    default:
      return `has attribute '${key}', which the importer cannot turn into a tensor`;
  }
}

function importConstant(ctx: ImportContext): void {
  const n = ctx.node;
  const keys = Object.keys(n.attrs);
  if (keys.length !== 1) {
    ctx.fail(`must have exactly one value attribute, has [${keys.join(", ")}]`);
  }
  const value = constantValue(keys[0], n.attrs[keys[0]]);
  if (typeof value === "string") ctx.fail(value);
  ctx.defineConstant(n.outputs[0], value);
}

/** Value-making ops. */
export const generatorEntries: readonly OpEntry[] = [
  {
    opType: "Constant",
    versions: [1, 9, 11, 12, 13, 19, ...LATE],
    imported: [1, 9, 11, 12, 13, 19, ...LATE],
    irOps: [],
    importer: importConstant,
    // String constants have no IR form (sparse ones never convert at all).
    refuse: (node) =>
      "value_string" in node.attrs || "value_strings" in node.attrs
        ? "string constants are not supported"
        : undefined,
  },
  simple("ConstantOfShape", [9, 20, ...LATE], [9, 20, ...LATE]),
  // Range-27 added stash_type; opset 27 is beyond the supported range.
  simple("Range", [11, 27], [11]),
  // Cast-1 named the target type with a string; 6+ use the type code.
  simple("Cast", [1, 6, 9, 13, 19, ...LATE], [6, 9, 13, 19, ...LATE]),
  simple("CastLike", [15, 19, ...LATE], [15, 19, ...LATE]),
];
