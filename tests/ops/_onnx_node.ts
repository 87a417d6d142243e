/**
 * Runs the ONNX backend node tests of single-node models
 * (`shared/onnx-node-tests`) through an operator's `infer` and `evaluate`.
 *
 * A minimal decoder stands in for the importer: it reads the one node,
 * converts its attributes, and upgrades older opset forms the way the
 * importer does (operands that were attributes become constant inputs).
 *
 * @module
 */

import assert from "node:assert/strict";
import onnx from "onnx-proto";
import type { DType } from "../../src/ir/dtype.ts";
import {
  type Attr,
  type Attrs,
  makeNode,
  type Node,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import type { OpDef } from "../../src/ops/op_def.ts";
import { assertTensor, defIn } from "./_helpers_tensor.ts";

type Int = number | { toNumber(): number };
type TensorProto = onnx.onnx.ITensorProto;

/** The test folders' root, wherever the checkout keeps `shared/`. */
const ROOT = ["../../shared/onnx-node-tests", "../../../shared/onnx-node-tests"]
  .map((p) => new URL(p, import.meta.url).pathname)
  .find((p) => {
    try {
      return Deno.statSync(p).isDirectory;
    } catch {
      return false;
    }
  });

/** ONNX element types the IR holds (BFLOAT16, STRING, … are not among them). */
const DTYPES: Record<number, DType> = {
  1: "f32",
  2: "u8",
  3: "i8",
  4: "u16",
  5: "i16",
  6: "i32",
  7: "i64",
  9: "bool",
  10: "f16",
  11: "f64",
  12: "u32",
  13: "u64",
};

/** IR names of ONNX operators where they differ. */
const IR_NAMES: Record<string, string> = { LayerNormalization: "LayerNorm" };

/** Attributes older opsets had where newer ones take inputs, in input order. */
const ATTRS_TO_INPUTS: Record<string, readonly string[]> = {
  Unsqueeze: ["axes"],
  Squeeze: ["axes"],
  Split: ["split"],
  Slice: ["starts", "ends", "axes"],
  Dropout: ["ratio"],
};

/** A protobuf integer (a Long for 64-bit fields) as a number. */
function int(v: Int | null | undefined): number {
  return v == null ? 0 : typeof v === "number" ? v : v.toNumber();
}

/** IEEE half-precision bits to a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Elements of a tensor stored in `raw_data`, little-endian. */
function rawValues(dtype: DType, raw: Uint8Array, n: number): number[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read: Record<DType, (i: number) => number> = {
    f32: (i) => view.getFloat32(4 * i, true),
    f16: (i) => halfToNumber(view.getUint16(2 * i, true)),
    f64: (i) => view.getFloat64(8 * i, true),
    i8: (i) => view.getInt8(i),
    u8: (i) => view.getUint8(i),
    bool: (i) => view.getUint8(i),
    i16: (i) => view.getInt16(2 * i, true),
    u16: (i) => view.getUint16(2 * i, true),
    i32: (i) => view.getInt32(4 * i, true),
    u32: (i) => view.getUint32(4 * i, true),
    i64: (i) => Number(view.getBigInt64(8 * i, true)),
    u64: (i) => Number(view.getBigUint64(8 * i, true)),
  };
  return Array.from({ length: n }, (_, i) => read[dtype](i));
}

/** Elements of a tensor stored in the typed repeated fields. */
function fieldValues(dtype: DType, p: TensorProto): number[] {
  switch (dtype) {
    case "f32":
      return [...(p.floatData ?? [])];
    case "f64":
      return [...(p.doubleData ?? [])];
    case "i64":
      return (p.int64Data ?? []).map(int);
    case "u64":
    case "u32":
      return (p.uint64Data ?? []).map(int);
    case "f16":
      return (p.int32Data ?? []).map(halfToNumber);
    default:
      return [...(p.int32Data ?? [])];
  }
}

/** A decoded TensorProto; throws on element types the IR lacks. */
export function decodeTensor(p: TensorProto): Tensor {
  const dtype = DTYPES[p.dataType ?? 0];
  if (dtype === undefined) {
    throw new Error(`unsupported ONNX dtype ${p.dataType}`);
  }
  const shape = (p.dims ?? []).map(int);
  const n = shape.reduce((a, b) => a * b, 1);
  const raw = p.rawData;
  const values = raw && raw.length > 0
    ? rawValues(dtype, raw, n)
    : fieldValues(dtype, p);
  return tensor(dtype, shape, values);
}

/** An ONNX attribute as an IR attribute. */
function decodeAttr(a: onnx.onnx.IAttributeProto): Attr {
  const T = onnx.onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return { kind: "float", value: a.f ?? 0 };
    case T.INT:
      return { kind: "int", value: int(a.i) };
    case T.STRING:
      return {
        kind: "string",
        value: new TextDecoder().decode(a.s ?? undefined),
      };
    case T.TENSOR:
      return { kind: "tensor", value: decodeTensor(a.t!) };
    case T.FLOATS:
      return { kind: "floats", value: [...(a.floats ?? [])] };
    case T.INTS:
      return { kind: "ints", value: (a.ints ?? []).map(int) };
    default:
      throw new Error(`unsupported attribute type ${a.type} of ${a.name}`);
  }
}

/** One data set: the node's inputs (by position) and expected outputs. */
export interface DataSet {
  inputs: (Tensor | undefined)[];
  outputs: Tensor[];
}

/** A loaded node test. */
export interface NodeTest {
  node: Node;
  dataSets: DataSet[];
}

/** Loads a test folder: the node, upgraded to the IR form, and its data. */
function loadNodeTest(dir: string): NodeTest {
  const model = onnx.onnx.ModelProto.decode(
    Deno.readFileSync(`${dir}/model.onnx`),
  );
  const graph = model.graph!;
  const proto = graph.node![0];
  const attrs: Record<string, Attr> = {};
  for (const a of proto.attribute ?? []) attrs[a.name!] = decodeAttr(a);
  const extra = new Map<string, Tensor>();
  const inputs = [...(proto.input ?? [])];
  for (const key of ATTRS_TO_INPUTS[proto.opType!] ?? []) {
    const a = attrs[key];
    if (a === undefined) continue;
    delete attrs[key];
    const value = a.kind === "ints"
      ? tensor("i64", [a.value.length], a.value)
      : tensor("f32", [], [a.value as number]);
    inputs.push(`attr:${key}`);
    extra.set(`attr:${key}`, value);
  }
  const op = IR_NAMES[proto.opType!] ?? proto.opType!;
  const node = makeNode(
    op,
    proto.name || "n",
    inputs,
    proto.output ?? [],
    attrs as Attrs,
  );
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const graphInputs = (graph.input ?? []).map((v) => v.name!).filter((n) =>
    !initializers.has(n)
  );
  const read = (path: string) =>
    decodeTensor(onnx.onnx.TensorProto.decode(Deno.readFileSync(path)));
  const dataSets = [...Deno.readDirSync(dir)]
    .filter((e) => e.isDirectory && e.name.startsWith("test_data_set_"))
    .map((e) => `${dir}/${e.name}`)
    .sort()
    .map((set) => {
      const byName = new Map(extra);
      graphInputs.forEach((name, k) =>
        byName.set(name, read(`${set}/input_${k}.pb`))
      );
      return {
        inputs: inputs.map((name) =>
          name === "" ? undefined : byName.get(name)
        ),
        outputs: node.outputs.map((_, k) => read(`${set}/output_${k}.pb`)),
      };
    });
  return { node, dataSets };
}

/** Checks one test: evaluation against the expected outputs, and inference. */
function checkNodeTest(def: OpDef, { node, dataSets }: NodeTest): void {
  for (const { inputs, outputs } of dataSets) {
    const actual = def.evaluate(inputs, node);
    assert.equal(actual.length, outputs.length, "number of outputs");
    outputs.forEach((want, k) => assertTensor(actual[k], want, `output ${k}`));
    const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
    const known = def.infer({ node, inputs: types, values: inputs });
    const unknown = def.infer({ node, inputs: types, values: [] });
    outputs.forEach((want, k) => {
      assert.deepEqual(
        known[k],
        { dtype: want.dtype, shape: want.shape },
        `infer ${k}`,
      );
      assert.equal(unknown[k].dtype, want.dtype, `infer without values ${k}`);
      unknown[k].shape.forEach((d, i) => {
        if (typeof d === "number") assert.equal(d, want.shape[i], `dim ${i}`);
      });
      assert.equal(unknown[k].shape.length, want.shape.length, "rank");
    });
  }
}

/**
 * Registers one Deno test per non-expanded single-node test of the given
 * ONNX operators, main set and legacy set. `exclusions` maps a test name
 * (`test_x`, or `legacy/test_x` for the legacy copy only) to why it is
 * skipped; those are registered as ignored.
 */
export function registerNodeTests(
  onnxOps: readonly string[],
  ops: readonly OpDef[],
  exclusions: Readonly<Record<string, string>> = {},
): void {
  if (ROOT === undefined) {
    Deno.test({ name: `ONNX node tests of ${onnxOps}`, ignore: true, fn() {} });
    return;
  }
  for (
    const [set, dir] of [["main", ROOT], [
      "legacy",
      `${ROOT}/legacy-onnx-v1.12.0`,
    ]]
  ) {
    for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
      if (!name.startsWith("test_") || name.includes("_expanded")) continue;
      const model = onnx.onnx.ModelProto.decode(
        Deno.readFileSync(`${dir}/${name}/model.onnx`),
      );
      const nodes = model.graph?.node ?? [];
      if (nodes.length !== 1 || !onnxOps.includes(nodes[0].opType!)) continue;
      const op = nodes[0].opType!;
      const excluded = exclusions[`${set}/${name}`] ?? exclusions[name];
      Deno.test({
        name: `onnx ${op} ${set}/${name}${
          excluded ? ` (excluded: ${excluded})` : ""
        }`,
        ignore: excluded !== undefined,
        fn() {
          const test = loadNodeTest(`${dir}/${name}`);
          checkNodeTest(defIn(ops, test.node.op), test);
        },
      });
    }
  }
}
