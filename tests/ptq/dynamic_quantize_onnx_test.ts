/**
 * ONNX Runtime's dynamic quantisation rewritten in TS
 * (src/ptq/dynamic_quantize_onnx.ts): onnxruntime-node runs the result,
 * and its logits stay near the f32 model's.
 *
 * @module
 */

import assert from "node:assert/strict";
import onnx from "onnx-proto";
import * as ort from "onnxruntime-node";
import {
  dynamicQuantizeOnnx,
  quantiseWeightInt8,
} from "../../src/ptq/dynamic_quantize_onnx.ts";
import { PtqError } from "../../src/ptq/params.ts";

const MODEL = "../shared/models/bert-tiny-random/model.onnx";

async function logits(bytes: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
  });
  const [b, s] = [2, 16];
  const ids = BigInt64Array.from(
    { length: b * s },
    (_, i) => BigInt(1000 + ((i * 7919) % 20000)),
  );
  const feed = (data: BigInt64Array) => new ort.Tensor("int64", data, [b, s]);
  const out = await session.run({
    input_ids: feed(ids),
    attention_mask: feed(ids.map(() => 1n)),
    token_type_ids: feed(ids.map(() => 0n)),
  });
  await session.release();
  return out.logits.data as Float32Array;
}

Deno.test("int8 weights: symmetric per tensor, max at ±127", () => {
  const { codes, scale } = quantiseWeightInt8([0.5, -2, 1, 0]);
  assert.equal(scale, Math.fround(2 / 127));
  assert.deepEqual(Array.from(codes), [32, -127, 64, 0]);
});

Deno.test("dynamic int8 bert-tiny: ORT runs it, logits near f32", async () => {
  const bytes = Deno.readFileSync(MODEL);
  const { bytes: q, quantised } = dynamicQuantizeOnnx(bytes);
  // 2 layers × (Q, K, V, attention output, FFN1, FFN2).
  assert.ok(quantised.length >= 12, `${quantised.length} MatMuls`);
  const ops = (onnx.onnx.ModelProto.decode(q).graph!.node ?? []).map((n) =>
    n.opType
  );
  assert.equal(
    ops.filter((o) => o === "MatMulInteger").length,
    quantised.length,
  );
  assert.equal(
    ops.filter((o) => o === "DynamicQuantizeLinear").length,
    quantised.length,
  );
  assert.ok(q.length < bytes.length, "int8 weights are smaller");
  const want = await logits(bytes);
  const got = await logits(q);
  const scale = Math.max(...Array.from(want, Math.abs));
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  assert.ok(err > 0, "quantised");
  assert.ok(err < 0.05 * scale, `max |Δ| ${err} vs max |logit| ${scale}`);
});

Deno.test("dynamic int8: bad input refused with a clear message", () => {
  assert.throws(
    () => dynamicQuantizeOnnx(new TextEncoder().encode("not a model at all")),
    (e: Error) => e instanceof PtqError,
  );
  const empty = onnx.onnx.ModelProto.encode({
    opsetImport: [{ domain: "", version: 9 }],
    graph: { name: "g" },
  }).finish();
  assert.throws(
    () => dynamicQuantizeOnnx(empty),
    (e: Error) => e instanceof PtqError && /opset ≥ 11/.test(e.message),
  );
});
