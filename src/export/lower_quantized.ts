/**
 * `QuantizedMatMul` as standard ONNX, so a post-training integer model runs
 * in any ONNX runtime: the activation codes by the same f32 steps
 * (Div, Add z + ½, Floor, Clip to [0, 2^bits − 1]) cast to uint8, the exact
 * product by MatMulInteger (uint8 codes with zero point z, int8 weight
 * codes), then Cast to f32, Mul by Δ·Δ_n (rounded to f32) and the bias Add.
 * The integer sum is the operator's; the two f32 steps after it round where
 * the IR rounds once in f64, so an ONNX runtime agrees to within a few f32
 * ulps, not bit for bit.
 *
 * @module
 */

import { attr, makeNode, type Node } from "../ir/graph.ts";
import { scalar, tensor } from "../ir/tensor.ts";
import { onnxFromDtype } from "../ops/cast.ts";
import { activationCodeOf } from "../ops/quantized_matmul.ts";
import type { Lowering } from "./lower.ts";

/** The ONNX nodes of one QuantizedMatMul, or why it has none. */
export const lowerQuantizedMatMul: Lowering = (node, ctx) => {
  const code = activationCodeOf(node);
  if (!Number.isInteger(code.zeroPoint)) {
    return `its activation zero point ${code.zeroPoint} is not an integer (LSQ+'s learned offset); MatMulInteger takes integer zero points`;
  }
  const [x, codes, scaleName, bias] = node.inputs;
  const scales = ctx.constantValue(scaleName);
  if (scales === undefined) {
    return "its weight scales are computed at run time, not constants";
  }
  const nodes: Node[] = [];
  const c = (hint: string, value: Parameters<typeof ctx.constant>[1]) =>
    ctx.constant(`${node.name}/${hint}`, value);
  const emit = (
    op: string,
    inputs: string[],
    attrs = {},
    out = ctx.fresh(`${node.name}/${op}_output`),
  ) => {
    nodes.push(
      makeNode(op, ctx.fresh(`${node.name}/${op}`), inputs, [out], attrs),
    );
    return out;
  };
  const shifted = emit("Add", [
    emit("Div", [x, c("x_scale", scalar("f32", code.scale))]),
    c("zero_half", scalar("f32", Math.fround(code.zeroPoint + 0.5))),
  ]);
  const clipped = emit("Clip", [
    emit("Floor", [shifted]),
    c("qmin", scalar("f32", 0)),
    c("qmax", scalar("f32", 2 ** code.bits - 1)),
  ]);
  const u8 = emit("Cast", [clipped], { to: attr.int(onnxFromDtype("u8")) });
  const zero = c("x_zero_point", tensor("u8", [], [code.zeroPoint]));
  const product = emit("MatMulInteger", [u8, codes, zero]);
  const wide = emit("Cast", [product], { to: attr.int(onnxFromDtype("f32")) });
  const factor = c(
    "factor",
    tensor(
      "f32",
      [scales.data.length],
      Array.from(scales.data, (s) => code.scale * s),
    ),
  );
  const [y] = node.outputs;
  if (bias === undefined || bias === "") {
    emit("Mul", [wide, factor], {}, y);
  } else {
    emit("Add", [emit("Mul", [wide, factor]), bias], {}, y);
  }
  return nodes;
};
