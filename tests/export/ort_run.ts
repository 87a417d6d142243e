/**
 * Runs ONNX model bytes in onnxruntime-node on IR tensors and compares the
 * results with the reference executor's.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import type { DType } from "../../src/ir/dtype.ts";
import type { Tensor } from "../../src/ir/tensor.ts";

const ORT_TYPES: Partial<Record<DType, ort.Tensor.Type>> = {
  f32: "float32",
  i32: "int32",
  i64: "int64",
  bool: "bool",
};

/** An IR tensor as an ORT tensor (int64 through BigInt64Array). */
export function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPES[t.dtype];
  if (type === undefined) throw new TypeError(`No ORT feed for ${t.dtype}.`);
  const data = t.dtype === "i64"
    ? BigInt64Array.from(t.data as Float64Array, (v) => BigInt(v))
    : t.data;
  return new ort.Tensor(type, data as Float32Array, [...t.shape]);
}

/** Runs `bytes` in ONNX Runtime on `feeds`; returns every graph output. */
export async function runOrt(
  bytes: Uint8Array,
  feeds: ReadonlyMap<string, Tensor>,
): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(bytes, {
    logSeverityLevel: 3,
  });
  try {
    return await session.run(
      Object.fromEntries([...feeds].map(([k, t]) => [k, toOrt(t)])),
    );
  } finally {
    await session.release();
  }
}

/**
 * Relative error in the ∞-norm, max|a−b| / max|b|, after checking shapes;
 * per-element ratios would be dominated by f32 noise near zero.
 */
export function relativeError(ours: Tensor, theirs: ort.Tensor): number {
  const dims = theirs.dims.map(Number);
  if (dims.join(",") !== ours.shape.join(",")) {
    throw new Error(`Shapes differ: ours [${ours.shape}], ORT [${dims}].`);
  }
  const b = Array.from(theirs.data as ArrayLike<number | bigint>, Number);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(ours.data[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}
