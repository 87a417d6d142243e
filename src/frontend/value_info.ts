/**
 * ONNX ValueInfoProto → IR {@linkcode ValueType}.
 *
 * @module
 */

import onnx from "onnx-proto";
import type { Dim, ValueType } from "../ir/graph.ts";
import { UnsupportedDtypeError } from "./errors.ts";
import { dtypeOfOnnx, type Int64, int64 } from "./onnx_types.ts";

/** A ValueInfoProto as decoded by onnx-proto. */
export type ValueInfoProto = onnx.onnx.IValueInfoProto;

/** The name of a TypeProto's kind when it is not a plain tensor. */
export function nonTensorKind(type: onnx.onnx.ITypeProto): string | undefined {
  if (type.tensorType) return undefined;
  if (type.sequenceType) return "sequence";
  if (type.mapType) return "map";
  if (type.optionalType) return "optional";
  if (type.sparseTensorType) return "sparse tensor";
  return "unknown";
}

/**
 * The IR type of a value, or `undefined` when the model leaves the element
 * type or the shape unknown. Unnamed dims get a fresh symbol
 * `"<value>:d<i>"`, so two unknown dims are never taken for equal.
 *
 * @throws {UnsupportedDtypeError} for element types the IR lacks and for
 * non-tensor values (sequences, maps, optionals).
 */
export function valueType(
  info: ValueInfoProto,
  file?: string,
): ValueType | undefined {
  const name = info.name ?? "";
  const type = info.type;
  if (!type) return undefined;
  const kind = nonTensorKind(type);
  if (kind !== undefined) throw new UnsupportedDtypeError(name, kind, file);
  const tensorType = type.tensorType!;
  const code = tensorType.elemType ?? 0;
  if (code === 0) return undefined;
  const dtype = dtypeOfOnnx(code);
  if (dtype === undefined) throw new UnsupportedDtypeError(name, code, file);
  if (!tensorType.shape) return undefined;
  const shape: Dim[] = (tensorType.shape.dim ?? []).map((d, i) => {
    if (d.dimValue !== null && d.dimValue !== undefined) {
      return int64(d.dimValue as Int64);
    }
    if (d.dimParam) return d.dimParam;
    return `${name}:d${i}`;
  });
  return { dtype, shape };
}
