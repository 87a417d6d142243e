/**
 * The ONNX frontend: ONNX ModelProto → IR graph.
 *
 * @example
 * ```ts
 * import { importOnnxFile } from "./src/frontend/mod.ts";
 * const { graph, warnings, opset } = importOnnxFile("model.onnx");
 * ```
 *
 * @module
 */

export {
  importOnnx,
  importOnnxFile,
  type ImportOptions,
  type ImportResult,
} from "./import_model.ts";
export { decodeModel, MAX_OPSET, MIN_OPSET } from "./decode.ts";
export * from "./errors.ts";
export { opTable, resolveOp, resolveVersion } from "./op_table.ts";
export type { OpEntry } from "./importer.ts";
export { readTensorProtoFile, tensorFromProto } from "./tensor_proto.ts";
export {
  listNodeTests,
  loadNodeTest,
  type NodeTestResult,
  runNodeTest,
} from "./node_tests.ts";
