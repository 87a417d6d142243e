/**
 * Builds small ONNX models in memory for tests, with onnx-proto's encoder.
 *
 * @module
 */

import onnx from "onnx-proto";

/** A node to put in a crafted model. */
export interface CraftNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: onnx.onnx.IAttributeProto[];
}

/** What a crafted model holds. */
export interface CraftModel {
  nodes: CraftNode[];
  /** Graph inputs as [name, elemType code, dims]. */
  inputs?: [string, number, (number | string)[]][];
  /** Graph outputs as [name, elemType code, dims]. */
  outputs?: [string, number, (number | string)[]][];
  initializers?: onnx.onnx.ITensorProto[];
  opset?: number;
  irVersion?: number;
  extraOpsets?: [string, number][];
}

function valueInfo(
  [name, elemType, dims]: [string, number, (number | string)[]],
): onnx.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) =>
            typeof d === "number" ? { dimValue: d } : { dimParam: d }
          ),
        },
      },
    },
  };
}

/** Encodes a ModelProto from a compact description. */
export function craftModel(m: CraftModel): Uint8Array {
  const model = onnx.onnx.ModelProto.create({
    irVersion: m.irVersion ?? 8,
    producerName: "tessera-test",
    opsetImport: [
      { domain: "", version: m.opset ?? 17 },
      ...(m.extraOpsets ?? []).map(([domain, version]) => ({
        domain,
        version,
      })),
    ],
    graph: {
      name: "crafted",
      node: m.nodes.map((n) => ({
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        name: n.name ?? "",
        domain: n.domain ?? "",
        attribute: n.attrs ?? [],
      })),
      input: (m.inputs ?? []).map(valueInfo),
      output: (m.outputs ?? []).map(valueInfo),
      initializer: m.initializers ?? [],
    },
  });
  return onnx.onnx.ModelProto.encode(model).finish();
}

/** An INT attribute. */
export function intAttr(name: string, i: number): onnx.onnx.IAttributeProto {
  return { name, i, type: onnx.onnx.AttributeProto.AttributeType.INT };
}

/** An INTS attribute. */
export function intsAttr(
  name: string,
  ints: number[],
): onnx.onnx.IAttributeProto {
  return { name, ints, type: onnx.onnx.AttributeProto.AttributeType.INTS };
}

/** ONNX element-type codes used in tests. */
export const FLOAT = 1, INT64 = 7, BFLOAT16 = 16;

/** A float initializer from values, stored in float_data. */
export function floatInit(
  name: string,
  dims: number[],
  values: number[],
): onnx.onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: values };
}
