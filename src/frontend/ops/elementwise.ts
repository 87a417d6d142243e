/**
 * Importers for elementwise arithmetic and math ops. Every imported version
 * maps one-to-one onto the IR op of the same name; older versions that took
 * a `broadcast` attribute or `consumed_inputs` (before opset 6/7) are not
 * imported.
 *
 * @module
 */

import { type OpEntry, simple } from "../importer.ts";

/** Since-versions of Add, Sub, Mul and Div in ONNX. */
const ARITHMETIC = [1, 6, 7, 13, 14];
/** Since-versions of the simple unary float ops in ONNX. */
const UNARY = [1, 6, 13];

/** Elementwise arithmetic and math ops. */
export const elementwiseEntries: readonly OpEntry[] = [
  ...["Add", "Sub", "Mul", "Div"].map((op) =>
    simple(op, ARITHMETIC, [7, 13, 14])
  ),
  simple("Pow", [1, 7, 12, 13, 15], [7, 12, 13, 15]),
  ...["Sqrt", "Reciprocal", "Neg", "Abs", "Exp", "Log", "Tanh", "Sigmoid"].map(
    (op) => simple(op, UNARY, [6, 13]),
  ),
  simple("Relu", [1, 6, 13, 14], [6, 13, 14]),
  simple("Erf", [9, 13], [9, 13]),
  ...["Min", "Max"].map((op) => simple(op, [1, 6, 8, 12, 13], [8, 12, 13])),
  simple("Sum", [1, 6, 8, 13], [8, 13]),
  simple("Mean", [1, 6, 8, 13], [8, 13]),
];
