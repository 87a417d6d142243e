/**
 * Importers for comparisons, boolean logic and Where; all one-to-one.
 *
 * @module
 */

import { type OpEntry, simple } from "../importer.ts";

/** Comparison, boolean and selection ops. */
export const logicalEntries: readonly OpEntry[] = [
  simple("Equal", [1, 7, 11, 13, 19], [7, 11, 13, 19]),
  ...["Less", "Greater"].map((op) => simple(op, [1, 7, 9, 13], [7, 9, 13])),
  ...["LessOrEqual", "GreaterOrEqual"].map((op) =>
    simple(op, [12, 16], [12, 16])
  ),
  simple("Not", [1], [1]),
  ...["And", "Or", "Xor"].map((op) => simple(op, [1, 7], [7])),
  simple("Where", [9, 16], [9, 16]),
];
