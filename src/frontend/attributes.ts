/**
 * ONNX AttributeProto → IR {@linkcode Attr}.
 *
 * @module
 */

import onnx from "onnx-proto";
import type { Attr, Attrs } from "../ir/graph.ts";
import { type Int64, int64 } from "./onnx_types.ts";
import { tensorFromProto, type TensorSource } from "./tensor_proto.ts";

/** An AttributeProto as decoded by onnx-proto. */
export type AttributeProto = onnx.onnx.IAttributeProto;

const T = onnx.onnx.AttributeProto.AttributeType;
const utf8 = new TextDecoder();

/**
 * Converts one attribute, or returns a sentence saying why it cannot be
 * (graph, sparse-tensor and type-proto attributes have no IR form).
 */
export function convertAttribute(
  a: AttributeProto,
  source: TensorSource,
): Attr | string {
  switch (attributeType(a)) {
    case T.FLOAT:
      return { kind: "float", value: a.f ?? 0 };
    case T.INT:
      return { kind: "int", value: int64(a.i as Int64) };
    case T.STRING:
      return { kind: "string", value: utf8.decode(a.s ?? new Uint8Array()) };
    case T.TENSOR:
      return { kind: "tensor", value: tensorFromProto(a.t ?? {}, source) };
    case T.FLOATS:
      return { kind: "floats", value: [...(a.floats ?? [])] };
    case T.INTS:
      return {
        kind: "ints",
        value: (a.ints ?? []).map((v) => int64(v as Int64)),
      };
    case T.STRINGS:
      return {
        kind: "strings",
        value: (a.strings ?? []).map((s) => utf8.decode(s)),
      };
    default:
      return `attribute '${a.name}' is a subgraph, sparse tensor or type, which the IR cannot hold`;
  }
}

/**
 * The attribute's type. Models from before IR version 2 may leave `type`
 * unset; then the one populated field tells.
 */
function attributeType(a: AttributeProto): number {
  if (a.type) return a.type;
  if (a.t) return T.TENSOR;
  if (a.g) return T.GRAPH;
  if (a.floats?.length) return T.FLOATS;
  if (a.ints?.length) return T.INTS;
  if (a.strings?.length) return T.STRINGS;
  if (a.s?.length) return T.STRING;
  if (a.f) return T.FLOAT;
  return T.INT;
}

/**
 * Converts a node's attributes; the second element lists those that could
 * not be converted (as sentences).
 */
export function convertAttributes(
  attributes: readonly AttributeProto[],
  source: TensorSource,
): [Attrs, string[]] {
  const attrs: Record<string, Attr> = {};
  const problems: string[] = [];
  for (const a of attributes) {
    const converted = convertAttribute(a, source);
    if (typeof converted === "string") problems.push(converted);
    else attrs[a.name ?? ""] = converted;
  }
  return [attrs, problems];
}
