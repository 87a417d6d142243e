/**
 * Tiny single-node ONNX models for racing ONNX Runtime against the generated
 * kernels: `MatMulInteger` (int8 × int8 → int32) and f32 `MatMul`, both
 * operands as graph inputs so ORT packs per call, as our kernels do.
 * @module
 */

import onnxProto from "onnx-proto";

// A CommonJS package: the namespace is a property of the default export.
const { onnx } = onnxProto;

/** Element type of a benchmark model's operands. */
export type OrtMatMulKind = "MatMulInteger" | "MatMul";

/** Encodes a ModelProto computing Y = A[m,k] · B[k,n]. */
export function matMulModel(
  kind: OrtMatMulKind,
  m: number,
  k: number,
  n: number,
): Uint8Array {
  const T = onnx.TensorProto.DataType;
  const inType = kind === "MatMulInteger" ? T.INT8 : T.FLOAT;
  const outType = kind === "MatMulInteger" ? T.INT32 : T.FLOAT;
  const info = (name: string, elemType: number, dims: number[]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((dimValue) => ({ dimValue })) },
      },
    },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "tessera-bench",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: kind,
      node: [{ opType: kind, input: ["A", "B"], output: ["Y"] }],
      input: [info("A", inType, [m, k]), info("B", inType, [k, n])],
      output: [info("Y", outType, [m, n])],
    },
  }).finish();
}
