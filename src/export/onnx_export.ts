/**
 * IR graph → ONNX ModelProto bytes, the inverse of the frontend: a model
 * that onnxruntime-node runs with the outputs of our reference executor and
 * that the frontend imports back to the same graph.
 *
 * Opset: 20 by default, the first at which every IR operator exists in
 * ONNX with the IR's semantics (Reduce* and Split in their opset-18 form,
 * Gelu-20, LayerNormalization-17), so every node maps one to one and names
 * survive. Opsets 17 to 19 are written too, for runtimes that stop there:
 * Gelu becomes its erf (or tanh) formula, and Reduce* and Split get their
 * older attribute forms (see `lower.ts`).
 *
 * Round trip: from opset 20 on, the frontend imports the file back to a
 * graph that prints identically. At 17 to 19 it gets the older forms back:
 * Gelu decomposed (which `fuse-gelu` fuses again under the same name) and
 * Reduce* axes as constants named `<node>/axes`.
 *
 * Not written: external data (models over protobuf's 2 GiB limit) and
 * metadata beyond `producer_name`.
 *
 * @module
 */

import onnx from "onnx-proto";
import type { Attr, Dim, Graph, Node, ValueType } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { onnxFromDtype } from "../ops/cast.ts";
import {
  ExportError,
  ExportOpsetError,
  type UnexportableNode,
  UnexportableOpsError,
} from "./errors.ts";
import type { LowerContext } from "./lower.ts";
import { exportRule, MAX_EXPORT_OPSET, MIN_EXPORT_OPSET } from "./op_rules.ts";
import { int64Field, tensorToProto } from "./tensor_encode.ts";

/** Options of {@linkcode exportOnnx}. */
export interface ExportOptions {
  /** ai.onnx opset to write, {@linkcode MIN_EXPORT_OPSET}..{@linkcode MAX_EXPORT_OPSET}; default {@linkcode DEFAULT_EXPORT_OPSET}. */
  readonly opset?: number;
  /** `producer_name` of the model; default `"tessera"`. */
  readonly producer?: string;
}

/** The opset written unless another is asked for (see the module doc). */
export const DEFAULT_EXPORT_OPSET = 20;

/**
 * The newest ONNX IR version each opset goes with (onnx/helper.py's
 * VERSION_TABLE); older runtimes refuse a newer IR version than their opset
 * needs.
 */
const IR_VERSION: Readonly<Record<number, number>> = {
  17: 8,
  18: 8,
  19: 9,
  20: 9,
  21: 10,
  22: 10,
  23: 11,
};

const AttrType = onnx.onnx.AttributeProto.AttributeType;
const utf8 = new TextEncoder();

/**
 * Serialises a forward IR graph (static or symbolic shapes) as an ONNX
 * model: constants become initializers, typed values get ValueInfo
 * (symbolic dims as `dim_param`), node and value names are kept.
 *
 * @example
 * ```ts
 * const { graph } = importOnnxFile("model.onnx");
 * Deno.writeFileSync("out.onnx", exportOnnx(graph));
 * ```
 * @throws {ExportOpsetError} for an opset outside 17..23.
 * @throws {UnexportableOpsError} listing every node with no ONNX form.
 * @throws {ExportError} for a graph input without a type.
 */
export function exportOnnx(
  graph: Graph,
  options: ExportOptions = {},
): Uint8Array {
  const opset = options.opset ?? DEFAULT_EXPORT_OPSET;
  if (
    !Number.isInteger(opset) || opset < MIN_EXPORT_OPSET ||
    opset > MAX_EXPORT_OPSET
  ) {
    throw new ExportOpsetError(opset, MIN_EXPORT_OPSET, MAX_EXPORT_OPSET);
  }
  const { nodes, constants } = toOnnxNodes(graph, opset);
  const model = onnx.onnx.ModelProto.create({
    irVersion: IR_VERSION[opset],
    opsetImport: [{ domain: "", version: opset }],
    producerName: options.producer ?? "tessera",
    graph: {
      name: graph.name,
      input: graph.inputs.map((name) => inputInfo(graph, name)),
      output: graph.outputs.map((name) =>
        valueInfo(name, graph.types.get(name))
      ),
      valueInfo: intermediateInfos(graph),
      initializer: [...constants].map(([name, t]) => tensorToProto(name, t)),
      node: nodes.map(nodeProto),
    },
  });
  return onnx.onnx.ModelProto.encode(model).finish();
}

/**
 * Every node in ONNX form, and the constants: the graph's plus those older
 * opset forms add. Refusals are collected so one error lists them all.
 */
function toOnnxNodes(
  graph: Graph,
  opset: number,
): { nodes: Node[]; constants: Map<string, Tensor> } {
  const constants = new Map(graph.constants);
  const ctx = lowerContext(graph, constants);
  const nodes: Node[] = [];
  const refused: UnexportableNode[] = [];
  for (const node of graph.nodes) {
    const rule = exportRule(node.op);
    const refuse = (reason: string) =>
      refused.push({ name: node.name, op: node.op, reason });
    if (rule === undefined) {
      refuse("the IR operator has no ONNX form");
    } else if (opset >= rule.since) {
      nodes.push({ ...node, op: rule.onnxOp });
    } else if (rule.lower === undefined) {
      refuse(`${rule.onnxOp} needs opset ${rule.since} or newer`);
    } else {
      const lowered = rule.lower(node, ctx);
      if (typeof lowered === "string") refuse(lowered);
      else nodes.push(...lowered);
    }
  }
  if (refused.length > 0) throw new UnexportableOpsError(refused, opset);
  return { nodes, constants };
}

function lowerContext(
  graph: Graph,
  constants: Map<string, Tensor>,
): LowerContext {
  const taken = new Set<string>([...graph.inputs, ...constants.keys()]);
  for (const node of graph.nodes) {
    taken.add(node.name);
    for (const name of node.outputs) taken.add(name);
  }
  const fresh = (hint: string) => {
    let name = hint;
    for (let k = 2; taken.has(name); k++) name = `${hint}_${k}`;
    taken.add(name);
    return name;
  };
  const typeOf = (name: string) =>
    graph.types.get(name) ?? graph.constants.get(name);
  return {
    constantValue: (name) => constants.get(name),
    dtypeOf: (name) => typeOf(name)?.dtype,
    dimOf: (name, axis) => {
      const shape = typeOf(name)?.shape;
      const dim = shape?.[axis < 0 ? axis + shape.length : axis];
      return typeof dim === "number" ? dim : undefined;
    },
    constant: (hint, value) => {
      const name = fresh(hint);
      constants.set(name, value);
      return name;
    },
    fresh,
  };
}

function nodeProto(node: Node): onnx.onnx.INodeProto {
  return {
    name: node.name,
    opType: node.op,
    input: [...node.inputs],
    output: [...node.outputs],
    attribute: Object.entries(node.attrs).map(([name, a]) =>
      attributeProto(name, a)
    ),
  };
}

function attributeProto(name: string, a: Attr): onnx.onnx.IAttributeProto {
  switch (a.kind) {
    case "int":
      return { name, type: AttrType.INT, i: int64Field(a.value) };
    case "float":
      return { name, type: AttrType.FLOAT, f: a.value };
    case "string":
      return { name, type: AttrType.STRING, s: utf8.encode(a.value) };
    case "ints":
      return { name, type: AttrType.INTS, ints: a.value.map(int64Field) };
    case "floats":
      return { name, type: AttrType.FLOATS, floats: [...a.value] };
    case "strings":
      return {
        name,
        type: AttrType.STRINGS,
        strings: a.value.map((s) => utf8.encode(s)),
      };
    case "tensor":
      return { name, type: AttrType.TENSOR, t: tensorToProto("", a.value) };
  }
}

function dimProto(d: Dim): onnx.onnx.TensorShapeProto.IDimension {
  return typeof d === "number" ? { dimValue: int64Field(d) } : { dimParam: d };
}

/** A ValueInfo; without a type when the IR does not know it. */
function valueInfo(
  name: string,
  type: ValueType | undefined,
): onnx.onnx.IValueInfoProto {
  if (type === undefined) return { name };
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxFromDtype(type.dtype),
        shape: { dim: type.shape.map(dimProto) },
      },
    },
  };
}

/** A graph input's ValueInfo; runtimes need its type to accept feeds. */
function inputInfo(graph: Graph, name: string): onnx.onnx.IValueInfoProto {
  const type = graph.types.get(name);
  if (type === undefined) {
    throw new ExportError(
      `Graph input '${name}' has no type, which an ONNX model needs; declare it in the source model.`,
    );
  }
  return valueInfo(name, type);
}

/** ValueInfo of every typed value that nodes define, bar the graph outputs. */
function intermediateInfos(graph: Graph): onnx.onnx.IValueInfoProto[] {
  const outputs = new Set(graph.outputs);
  return graph.nodes.flatMap((node) =>
    node.outputs.filter((name) =>
      name !== "" && !outputs.has(name) && graph.types.has(name)
    ).map((name) => valueInfo(name, graph.types.get(name)))
  );
}
