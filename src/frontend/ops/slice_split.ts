/**
 * Importers for Slice, Split, Gather and NonZero. Slice-1 held
 * starts/ends/axes as attributes and Split before 13 held `split` as an
 * attribute; the IR takes them as i64 inputs. Split before 18 without sizes
 * meant equal parts, which the IR spells `num_outputs`.
 *
 * @module
 */

import { attr, intsAttr } from "../../ir/graph.ts";
import {
  i64Vector,
  type ImportContext,
  input,
  type OpEntry,
  simple,
  without,
} from "../importer.ts";

function importSlice(ctx: ImportContext): void {
  const n = ctx.node;
  if (n.version >= 10) {
    ctx.emit("Slice", n.inputs, n.outputs, n.attrs);
    return;
  }
  const starts = intsAttr(n.attrs, "starts");
  const ends = intsAttr(n.attrs, "ends");
  if (starts === undefined || ends === undefined) {
    ctx.fail("lacks the required 'starts' or 'ends' attribute");
  }
  const axes = intsAttr(n.attrs, "axes");
  const inputs = [
    input(n, 0),
    ctx.constant(`${n.name}/starts`, i64Vector(starts)),
    ctx.constant(`${n.name}/ends`, i64Vector(ends)),
  ];
  if (axes !== undefined) {
    inputs.push(ctx.constant(`${n.name}/axes`, i64Vector(axes)));
  }
  ctx.emit(
    "Slice",
    inputs,
    n.outputs,
    without(n.attrs, "starts", "ends", "axes"),
  );
}

function importSplit(ctx: ImportContext): void {
  const n = ctx.node;
  if (n.version >= 18) {
    ctx.emit("Split", n.inputs, n.outputs, n.attrs);
    return;
  }
  const attrs = without(n.attrs, "split");
  let split = n.version >= 13 ? input(n, 1) : "";
  const sizes = intsAttr(n.attrs, "split");
  if (n.version < 13 && sizes !== undefined) {
    split = ctx.constant(`${n.name}/split`, i64Vector(sizes));
  }
  if (split === "") {
    ctx.emit("Split", [input(n, 0)], n.outputs, {
      ...attrs,
      num_outputs: attr.int(n.outputs.length),
    });
  } else {
    ctx.emit("Split", [input(n, 0), split], n.outputs, attrs);
  }
}

/** Slicing, splitting and gathering ops. */
export const sliceSplitEntries: readonly OpEntry[] = [
  {
    opType: "Slice",
    versions: [1, 10, 11, 13],
    imported: [1, 10, 11, 13],
    irOps: ["Slice"],
    importer: importSlice,
  },
  {
    opType: "Split",
    // Split-1 took sizes from an optional second input or an attribute.
    versions: [1, 2, 11, 13, 18],
    imported: [2, 11, 13, 18],
    irOps: ["Split"],
    importer: importSplit,
  },
  simple("Gather", [1, 11, 13], [1, 11, 13]),
  simple("GatherElements", [11, 13], [11, 13]),
  simple("NonZero", [9, 13], [9, 13]),
];
