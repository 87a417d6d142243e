/**
 * The ONNX exporter: IR graph → ONNX model bytes, and the weight
 * replacement the training runtime uses before exporting.
 *
 * @module
 */

export {
  DEFAULT_EXPORT_OPSET,
  exportOnnx,
  type ExportOptions,
} from "./onnx_export.ts";
export { MAX_EXPORT_OPSET, MIN_EXPORT_OPSET } from "./op_rules.ts";
export { replaceConstants } from "./replace_constants.ts";
export {
  ConstantUpdateError,
  ExportError,
  ExportOpsetError,
  type UnexportableNode,
  UnexportableOpsError,
  type UpdateProblem,
} from "./errors.ts";
