/**
 * ONNX Runtime's dynamic quantisation (`onnxruntime.quantization.
 * quantize_dynamic`, QOperator format, int8 weights) as a rewrite of an
 * ONNX file, for serving the same fine-tuned model on ONNX Runtime as its
 * own int8 engine would — the Python tool is not installable here. Every
 * `MatMul(X, W)` whose W is a 2-D f32 initializer becomes
 * ```text
 * X_q, X_scale, X_zp = DynamicQuantizeLinear(X)          (uint8, per tensor)
 * Y_int  = MatMulInteger(X_q, W_q, X_zp, W_zp)            (int32)
 * Y      = Mul(Cast(Y_int, float), Mul(X_scale, W_scale))
 * ```
 * with W_q = clamp(rne(W / W_scale), −127, 127) int8, W_scale =
 * max|W| / 127 and W_zp = 0 — ORT's symmetric per-tensor int8 weights.
 * ORT's graph optimiser fuses the pattern into its `DynamicQuantizeMatMul`
 * kernel, as it does for files the Python tool writes. Unlike the Python
 * tool, MatMuls of two activations (attention scores and context) stay f32.
 *
 * @module
 */

import onnx from "onnx-proto";
import { tensorFromProto } from "../frontend/tensor_proto.ts";
import { roundHalfEven } from "../ops/llm_int8.ts";
import { PtqError } from "./params.ts";

type TensorProto = onnx.onnx.ITensorProto;
const DataType = onnx.onnx.TensorProto.DataType;

/** ONNX Runtime's symmetric per-tensor int8 quantisation of one weight. */
export function quantiseWeightInt8(
  w: ArrayLike<number>,
): { codes: Int8Array; scale: number } {
  let max = 0;
  for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]));
  const scale = Math.fround(max > 0 ? max / 127 : 1);
  const codes = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    codes[i] = Math.max(-127, Math.min(127, roundHalfEven(w[i] / scale)));
  }
  return { codes, scale };
}

/** What {@linkcode dynamicQuantizeOnnx} did. */
export interface DynamicQuantization {
  /** The rewritten model, serialised. */
  readonly bytes: Uint8Array;
  /** The MatMul nodes now computed by MatMulInteger, in graph order. */
  readonly quantised: readonly string[];
}

const scalarF32 = (name: string, v: number): TensorProto => ({
  name,
  dataType: DataType.FLOAT,
  dims: [],
  floatData: [v],
});

/**
 * Rewrites the ONNX model in `bytes` as the module doc describes; weights
 * no other node reads are dropped. Throws when the model's default opset is
 * below 11 (DynamicQuantizeLinear's) or nothing is quantisable.
 */
export function dynamicQuantizeOnnx(bytes: Uint8Array): DynamicQuantization {
  let model: onnx.onnx.ModelProto;
  try {
    model = onnx.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new PtqError(`Not an ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph as onnx.onnx.GraphProto | null;
  const opset = model.opsetImport.find((o) => !o.domain)?.version;
  if (graph == null || opset == null || Number(opset) < 11) {
    throw new PtqError(
      `Dynamic quantisation needs a graph at ONNX opset ≥ 11, got ${
        opset ?? "none"
      }.`,
    );
  }
  const inits = new Map(graph.initializer.map((t) => [t.name!, t]));
  const nodes: onnx.onnx.INodeProto[] = [];
  const quantised: string[] = [];
  const added: TensorProto[] = [];
  const codesOf = new Map<string, string>();
  for (const node of graph.node) {
    const ins = node.input ?? [];
    const outs = node.output ?? [];
    const w = node.opType === "MatMul" ? inits.get(ins[1]) : undefined;
    if (
      w === undefined || w.dataType !== DataType.FLOAT || w.dims?.length !== 2
    ) {
      nodes.push(node);
      continue;
    }
    const name = node.name || outs[0];
    const [x, wName] = ins;
    const v = (s: string) => `${name}/dyn_${s}`;
    if (!codesOf.has(wName)) {
      const { codes, scale } = quantiseWeightInt8(tensorFromProto(w).data);
      added.push(
        {
          name: `${wName}_quantized`,
          dataType: DataType.INT8,
          dims: w.dims,
          rawData: new Uint8Array(codes.buffer),
        },
        scalarF32(`${wName}_scale`, scale),
        {
          name: `${wName}_zero_point`,
          dataType: DataType.INT8,
          dims: [],
          int32Data: [0],
        },
      );
      codesOf.set(wName, `${wName}_quantized`);
    }
    const make = (op: string, ins: string[], outs: string[], suffix: string) =>
      onnx.onnx.NodeProto.create({
        opType: op,
        name: v(suffix),
        input: ins,
        output: outs,
      });
    nodes.push(
      make(
        "DynamicQuantizeLinear",
        [x],
        [v("x_q"), v("x_scale"), v("x_zp")],
        "quantize",
      ),
      make(
        "MatMulInteger",
        [
          v("x_q"),
          codesOf.get(wName)!,
          v("x_zp"),
          `${wName}_zero_point`,
        ],
        [v("y_int")],
        "matmul",
      ),
      make("Mul", [v("x_scale"), `${wName}_scale`], [v("scale")], "scale"),
    );
    const cast = make("Cast", [v("y_int")], [v("y_float")], "cast");
    cast.attribute = [{
      name: "to",
      type: onnx.onnx.AttributeProto.AttributeType.INT,
      i: DataType.FLOAT,
    }];
    nodes.push(
      cast,
      make("Mul", [v("y_float"), v("scale")], [outs[0]], "dequantize"),
    );
    quantised.push(name);
  }
  if (quantised.length === 0) {
    throw new PtqError(
      "The model has no MatMul with a 2-D f32 initializer weight to quantise.",
    );
  }
  const read = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.node = nodes;
  graph.initializer = [
    ...(graph.initializer ?? []).filter((t) => read.has(t.name!)),
    ...added,
  ];
  return { bytes: onnx.onnx.ModelProto.encode(model).finish(), quantised };
}
