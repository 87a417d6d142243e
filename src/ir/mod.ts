/**
 * The graph IR: types, tensors, the text form and the verifier.
 *
 * @module
 */

export * from "./dtype.ts";
export * from "./tensor.ts";
export * from "./graph.ts";
export { digestOf } from "./digest.ts";
export { printGraph, printNode, printType } from "./printer.ts";
export { IrParseError, parseGraph, type ParseOptions } from "./parser.ts";
export {
  findProblems,
  verify,
  VerifyError,
  type VerifyOptions,
} from "./verify.ts";
