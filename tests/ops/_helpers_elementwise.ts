/**
 * Test helpers for the elementwise, logical, cast and reduce operators: tensor
 * comparison, and a throwaway runner for the ONNX backend node tests in
 * `shared/onnx-node-tests` (a tiny TensorProto decoder, so these tests do not
 * depend on the frontend).
 *
 * @module
 */

import assert from "node:assert/strict";
import onnx from "onnx-proto";
import type { DType } from "../../src/ir/dtype.ts";
import {
  type Attr,
  attr,
  type Attrs,
  makeNode,
  type Node,
  typeOfTensor,
  type ValueType,
} from "../../src/ir/graph.ts";
import { sizeOf, type Tensor, tensor, toNumbers } from "../../src/ir/tensor.ts";
import { castOps, dtypeFromOnnx } from "../../src/ops/cast.ts";
import { elementwiseOps } from "../../src/ops/elementwise.ts";
import { logicalOps } from "../../src/ops/logical.ts";
import type { OpDef } from "../../src/ops/op_def.ts";
import { reduceOps } from "../../src/ops/reduce.ts";

/** Where the node tests live (`shared/` beside the repository). */
export const NODE_TEST_ROOT = new URL(
  "../../../shared/onnx-node-tests/",
  import.meta.url,
);

/** Whether the node tests are present on this machine. */
export const HAVE_NODE_TESTS = (() => {
  try {
    return Deno.statSync(NODE_TEST_ROOT).isDirectory;
  } catch {
    return false;
  }
})();

const OPS: ReadonlyMap<string, OpDef> = new Map(
  [...elementwiseOps, ...logicalOps, ...castOps, ...reduceOps].map((d) => [
    d.name,
    d,
  ]),
);

/** The definition of one of these ops. */
export function opDef(op: string): OpDef {
  const def = OPS.get(op);
  assert.ok(def, `no op ${op}`);
  return def;
}

/** Types `op` for inputs of the given types and the known `values`. */
export function infer(
  op: string,
  inputs: readonly (ValueType | undefined)[],
  attrs: Attrs = {},
  values: readonly (Tensor | undefined)[] = [],
): ValueType[] {
  const n = node(op, attrs, inputs.length);
  return opDef(op).infer({ node: n, inputs, values });
}

/** A node with attributes, for unit tests. */
export function node(op: string, attrs: Attrs = {}, inputs = 2): Node {
  const names = Array.from({ length: inputs }, (_, i) => `x${i}`);
  return makeNode(op, `${op.toLowerCase()}_0`, names, ["y"], attrs);
}

/** Whether `actual` is within 1e-6 absolute plus 1e-5 relative of `expected`. */
function close(actual: number, expected: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= 1e-6 + 1e-5 * Math.abs(expected);
}

/**
 * Asserts a tensor's dtype, shape and values: floats within 1e-5 relative
 * (1e-6 absolute), integers and bools exactly.
 */
export function assertTensor(
  actual: Tensor,
  expected: Tensor,
  label = "tensor",
): void {
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  const a = toNumbers(actual);
  const e = toNumbers(expected);
  const isFloat = ["f16", "f32", "f64"].includes(expected.dtype);
  for (let i = 0; i < e.length; i++) {
    const ok = isFloat ? close(a[i], e[i]) : Object.is(a[i], e[i]);
    assert.ok(ok, `${label}[${i}]: got ${a[i]}, expected ${e[i]}`);
  }
}

/** Runs `op` on `inputs` with `attrs`, checking `infer` against the result. */
export function run(
  op: string,
  inputs: readonly (Tensor | undefined)[],
  attrs: Attrs = {},
): Tensor {
  const def = opDef(op);
  const n = node(op, attrs, inputs.length);
  const [out] = def.evaluate(inputs, n);
  const [type] = def.infer({
    node: n,
    inputs: inputs.map((t) => t && typeOfTensor(t)),
    values: inputs,
  });
  assert.deepEqual(type, typeOfTensor(out), `${op}: infer vs evaluate`);
  return out;
}

// ---------------------------------------------------------------- decoding

type Int64 = number | { toNumber(): number };
const num = (v: Int64 | null | undefined) =>
  v == null ? 0 : typeof v === "number" ? v : v.toNumber();

/** An f16 bit pattern as a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function rawValues(dtype: DType, raw: Uint8Array, n: number): number[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read: Record<DType, [number, (o: number) => number]> = {
    f32: [4, (o) => view.getFloat32(o, true)],
    f16: [2, (o) => halfToNumber(view.getUint16(o, true))],
    f64: [8, (o) => view.getFloat64(o, true)],
    i8: [1, (o) => view.getInt8(o)],
    u8: [1, (o) => view.getUint8(o)],
    bool: [1, (o) => view.getUint8(o)],
    i16: [2, (o) => view.getInt16(o, true)],
    u16: [2, (o) => view.getUint16(o, true)],
    i32: [4, (o) => view.getInt32(o, true)],
    u32: [4, (o) => view.getUint32(o, true)],
    i64: [8, (o) => Number(view.getBigInt64(o, true))],
    u64: [8, (o) => Number(view.getBigUint64(o, true))],
  };
  const [size, get] = read[dtype];
  return Array.from({ length: n }, (_, i) => get(i * size));
}

/** Decodes a TensorProto; unsupported element types throw a TypeError. */
export function decodeTensor(p: onnx.onnx.ITensorProto): Tensor {
  const dtype = dtypeFromOnnx(p.dataType ?? 0);
  const shape = (p.dims ?? []).map(num);
  const n = sizeOf(shape);
  if (p.rawData && p.rawData.length > 0) {
    return tensor(dtype, shape, rawValues(dtype, p.rawData, n));
  }
  const fields: Partial<Record<DType, ArrayLike<Int64> | null | undefined>> = {
    f32: p.floatData,
    f64: p.doubleData,
    i64: p.int64Data,
    u32: p.uint64Data,
    u64: p.uint64Data,
  };
  const values = Array.from(fields[dtype] ?? p.int32Data ?? [], num);
  return tensor(
    dtype,
    shape,
    dtype === "f16" ? values.map(halfToNumber) : values,
  );
}

function decodeAttr(a: onnx.onnx.IAttributeProto): Attr {
  const T = onnx.onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return attr.float(a.f ?? 0);
    case T.INT:
      return attr.int(num(a.i));
    case T.STRING:
      return attr.string(new TextDecoder().decode(a.s ?? new Uint8Array()));
    case T.TENSOR:
      return attr.tensor(decodeTensor(a.t!));
    case T.FLOATS:
      return attr.floats(a.floats ?? []);
    case T.INTS:
      return attr.ints((a.ints ?? []).map(num));
    default:
      throw new TypeError(`attribute ${a.name} of type ${a.type}`);
  }
}

/** One data set of a node test: graph inputs and expected outputs. */
export interface DataSet {
  /** Graph inputs, in order. */
  inputs: Tensor[];
  /** Expected graph outputs, in order. */
  outputs: Tensor[];
}

/** A node test's graph in IR form, with its data sets. */
export interface NodeTest {
  /** Folder name relative to the node-test root. */
  name: string;
  /** Nodes in order; legacy attribute forms already upgraded. */
  nodes: Node[];
  /** Graph input names. */
  inputs: string[];
  /** Graph output names. */
  outputs: string[];
  /** Constants added while upgrading legacy forms. */
  constants: Map<string, Tensor>;
  /** Data sets. */
  dataSets: DataSet[];
}

function readModel(name: string): onnx.onnx.ModelProto {
  const bytes = Deno.readFileSync(
    new URL(`${name}/model.onnx`, NODE_TEST_ROOT),
  );
  return onnx.onnx.ModelProto.decode(bytes);
}

/** Every node-test folder, main set and legacy set. */
export function listNodeTests(): string[] {
  const names = (dir: string) =>
    [...Deno.readDirSync(new URL(dir, NODE_TEST_ROOT))]
      .filter((e) => e.isDirectory && e.name.startsWith("test_"))
      .map((e) => (dir === "." ? e.name : `${dir}/${e.name}`));
  return [...names("."), ...names("legacy-onnx-v1.12.0")].sort();
}

/**
 * The node tests for the ops in `defs`: those whose graph consists only of
 * operators of these four files (plus Constant) and whose last node is one
 * of `defs`.
 */
export function nodeTestsFor(defs: readonly OpDef[]): string[] {
  const mine = new Set(defs.map((d) => d.name));
  return listNodeTests().filter((name) => {
    const ops = readModel(name).graph!.node!.map((n) => n.opType!);
    const known = ops.every((op) => op === "Constant" || OPS.has(op));
    return known && mine.has(ops[ops.length - 1]);
  });
}

/**
 * Rewrites an opset-13 Reduce* node's `axes` attribute into the constant
 * input the IR takes (what the frontend's upgrade does).
 */
function upgrade(n: Node, constants: Map<string, Tensor>): Node {
  const axes = n.attrs.axes;
  if (!n.op.startsWith("Reduce") || axes === undefined) return n;
  assert.equal(axes.kind, "ints");
  const name = `${n.name}/axes`;
  constants.set(
    name,
    tensor("i64", [axes.value.length], axes.value as number[]),
  );
  const { axes: _, ...rest } = n.attrs;
  return makeNode(n.op, n.name, [n.inputs[0], name], n.outputs, rest);
}

/**
 * Loads a node test. Throws a TypeError when a graph input or output is not
 * a tensor of an IR dtype (sequences, optionals, bfloat16, strings, …).
 */
export function loadNodeTest(name: string): NodeTest {
  const graph = readModel(name).graph!;
  for (const v of [...graph.input!, ...graph.output!]) {
    const t = v.type!;
    if (!t.tensorType) throw new TypeError(`${v.name} is not a tensor`);
    dtypeFromOnnx(t.tensorType.elemType ?? 0);
  }
  const constants = new Map<string, Tensor>();
  const nodes = graph.node!.map((p, i) => {
    const attrs = Object.fromEntries(
      (p.attribute ?? []).map((a) => [a.name!, decodeAttr(a)]),
    );
    const n = makeNode(
      p.opType!,
      p.name || `n${i}`,
      p.input!,
      p.output!,
      attrs,
    );
    return upgrade(n, constants);
  });
  const dir = new URL(`${name}/`, NODE_TEST_ROOT);
  const dataSets = [...Deno.readDirSync(dir)]
    .filter((e) => e.name.startsWith("test_data_set_"))
    .map((e) => e.name)
    .sort()
    .map((set) => {
      const load = (kind: string, count: number) =>
        Array.from({ length: count }, (_, k) => {
          const url = new URL(`${set}/${kind}_${k}.pb`, dir);
          return decodeTensor(
            onnx.onnx.TensorProto.decode(Deno.readFileSync(url)),
          );
        });
      return {
        inputs: load("input", graph.input!.length),
        outputs: load("output", graph.output!.length),
      };
    });
  return {
    name,
    nodes,
    inputs: graph.input!.map((v) => v.name!),
    outputs: graph.output!.map((v) => v.name!),
    constants,
    dataSets,
  };
}

/**
 * Runs every data set of a node test through the ops' `evaluate`, checking
 * each node's `infer` (all inputs given as known values) against what it
 * produced and the graph outputs against the expected ones.
 */
export function checkNodeTest(test: NodeTest): void {
  for (const [s, data] of test.dataSets.entries()) {
    const env = new Map(test.constants);
    test.inputs.forEach((name, i) => env.set(name, data.inputs[i]));
    for (const n of test.nodes) {
      if (n.op === "Constant") {
        const value = n.attrs.value;
        assert.ok(value?.kind === "tensor", "Constant needs a tensor value");
        env.set(n.outputs[0], value.value);
        continue;
      }
      const def = OPS.get(n.op)!;
      const ins = n.inputs.map((
        name,
      ) => (name === "" ? undefined : env.get(name)));
      const outs = def.evaluate(ins, n);
      const types = def.infer({
        node: n,
        inputs: ins.map((t) => t && typeOfTensor(t)),
        values: ins,
      });
      outs.forEach((t, i) => {
        assert.deepEqual(types[i], typeOfTensor(t), `${n.op}: infer`);
        env.set(n.outputs[i], t);
      });
    }
    test.outputs.forEach((name, i) => {
      assertTensor(env.get(name)!, data.outputs[i], `set ${s} ${name}`);
    });
  }
}

/**
 * Registers one Deno test per node test of `defs`, except the `excluded`
 * ones, which must fail to load as unsupported (so the list stays honest).
 */
export function registerNodeTests(
  defs: readonly OpDef[],
  excluded: ReadonlySet<string>,
): void {
  if (!HAVE_NODE_TESTS) {
    Deno.test({ name: "onnx node tests", ignore: true, fn: () => {} });
    return;
  }
  const names = nodeTestsFor(defs);
  for (const name of names) {
    if (excluded.has(name)) {
      Deno.test(`onnx node ${name} (excluded: unsupported type)`, () => {
        assert.throws(() => loadNodeTest(name), TypeError);
      });
    } else {
      Deno.test(`onnx node ${name}`, () => checkNodeTest(loadNodeTest(name)));
    }
  }
  Deno.test("onnx node exclusions are all node tests of these ops", () => {
    for (const name of excluded) assert.ok(names.includes(name), name);
  });
}
