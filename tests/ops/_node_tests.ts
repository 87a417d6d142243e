/**
 * The ONNX backend node tests (`shared/onnx-node-tests`, main set and
 * legacy v1.12.0 set) as operator tests: each folder is loaded by the
 * frontend's loader (`src/frontend/node_tests.ts`: the real importer, so
 * older opset forms arrive upgraded), then run node by node, checking every
 * IR node's `infer` against what its `evaluate` produced — with every input
 * value known, and with none known — and the graph outputs against ONNX's.
 *
 * The frontend's own runner (`tests/frontend/onnx_node_tests_test.ts`) runs
 * every folder through the executor; this adds the type rules and a
 * stricter tolerance ({@linkcode assertTensor}). Every folder that runner
 * passes is registered by some test file here except `test_constant` (both
 * sets: a Constant imports to no IR node). Not registered here are the tests
 * the runner counts as unclaimed (ops the op table lacks; 107 when written)
 * or excluded for their types (17 multi-node ones), apart from the
 * single-node ones of our ops, whose refusal is checked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import onnx from "onnx-proto";
import { decodeModel } from "../../src/frontend/decode.ts";
import { resolveOp } from "../../src/frontend/op_table.ts";
import {
  UnsupportedDtypeError,
  UnsupportedOpsError,
  UnsupportedOpsetError,
} from "../../src/frontend/errors.ts";
import {
  listNodeTests,
  type LoadedNodeTest,
  loadNodeTest,
  unsupportedTypes,
} from "../../src/frontend/node_tests.ts";
import {
  type Graph,
  type Node,
  typeOfTensor,
  type ValueType,
} from "../../src/ir/graph.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { getOp } from "../../src/ops/mod.ts";
import { OpError } from "../../src/ops/op_def.ts";
import { assertTensor } from "./_helpers.ts";

/** The node tests' root (`shared/` beside the repository). */
const ROOT = new URL("../../../shared/onnx-node-tests/", import.meta.url)
  .pathname;

/** A node test folder. */
interface Folder {
  /** `main/test_x` or `legacy/test_x`. */
  readonly label: string;
  /** Folder name, `test_x`. */
  readonly name: string;
  readonly dir: string;
  /** The ONNX op types of its nodes, in order. */
  readonly opTypes: readonly string[];
  /** The model's opset when the frontend does not support it. */
  readonly unsupportedOpset: number | undefined;
  /** Element types of the model that the IR lacks (see `unsupportedTypes`). */
  readonly unsupported: readonly string[];
  /** Whether the op table resolves every node (at a supported opset). */
  readonly resolved: boolean;
}

/** Reads what registration needs of a test folder's model. */
function readFolder(set: string, dir: string): Folder {
  const bytes = Deno.readFileSync(join(dir, "model.onnx"));
  const model = onnx.onnx.ModelProto.decode(bytes);
  const nodes = model.graph?.node ?? [];
  let opset: number | undefined;
  let unsupportedOpset: number | undefined;
  try {
    opset = decodeModel(bytes).opset;
  } catch (e) {
    if (!(e instanceof UnsupportedOpsetError)) throw e;
    unsupportedOpset = e.opset;
  }
  const name = dir.split(/[\\/]/).pop()!;
  return {
    label: `${set}/${name}`,
    name,
    dir,
    opTypes: nodes.map((n) => n.opType ?? ""),
    unsupportedOpset,
    unsupported: unsupportedTypes(model),
    resolved: opset !== undefined &&
      nodes.every((n) => resolveOp(n.opType ?? "", n.domain ?? "", opset).ok),
  };
}

let folders: Folder[] | undefined;

/** Every node test folder, main set then legacy set (read once). */
function allFolders(): Folder[] {
  folders ??= [
    ...listNodeTests(ROOT).map((dir) => readFolder("main", dir)),
    ...listNodeTests(join(ROOT, "legacy-onnx-v1.12.0")).map((dir) =>
      readFolder("legacy", dir)
    ),
  ];
  return folders;
}

/**
 * `infer` with no input values known must still agree with the real output
 * where it commits: dtype, rank and every numeric dim. Reduce* may instead
 * refuse, as its output shape depends on its `axes` value.
 */
function checkInferWithoutValues(
  node: Node,
  inputs: readonly (ValueType | undefined)[],
  outputs: readonly Tensor[],
): void {
  let types: ValueType[];
  try {
    types = getOp(node.op).infer({ node, inputs, values: [] });
  } catch (e) {
    if (e instanceof OpError && /axes must be a constant/.test(e.message)) {
      return;
    }
    throw e;
  }
  node.outputs.forEach((name, k) => {
    if (name === "") return;
    const label = `${node.op} '${node.name}' output ${k}, infer without values`;
    const want = outputs[k];
    assert.equal(types[k].dtype, want.dtype, `${label}: dtype`);
    assert.equal(types[k].shape.length, want.shape.length, `${label}: rank`);
    types[k].shape.forEach((d, i) => {
      if (typeof d === "number") {
        assert.equal(d, want.shape[i], `${label}: dim ${i}`);
      }
    });
  });
}

/**
 * Runs `graph` node by node on `feeds`, checking each node's `infer` (every
 * input value known, then none) against its `evaluate`; returns the values.
 */
function runChecked(
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor>,
): Map<string, Tensor> {
  const env = new Map(graph.constants);
  for (const name of graph.inputs) {
    const t = feeds.get(name);
    assert.ok(t, `no data for graph input '${name}'`);
    env.set(name, t);
  }
  for (const node of graph.nodes) {
    const ins = node.inputs.map((name) => {
      if (name === "") return undefined;
      const t = env.get(name);
      assert.ok(t, `'${name}', input of '${node.name}', has no value`);
      return t;
    });
    const def = getOp(node.op);
    const outs = def.evaluate(ins, node);
    const types = ins.map((t) => t && typeOfTensor(t));
    const inferred = def.infer({ node, inputs: types, values: ins });
    node.outputs.forEach((name, k) => {
      if (name === "") return;
      assert.ok(outs[k], `${node.op} '${node.name}' gave no output ${k}`);
      assert.deepEqual(
        inferred[k],
        typeOfTensor(outs[k]),
        `${node.op} '${node.name}' output ${k}: infer vs evaluate`,
      );
      env.set(name, outs[k]);
    });
    checkInferWithoutValues(node, types, outs);
  }
  return env;
}

/** Checks every data set of an imported node test. */
function checkNodeTest({ graph, data }: LoadedNodeTest): void {
  assert.ok(data.length > 0, "no data sets");
  for (const [s, { feeds, expected }] of data.entries()) {
    const values = runChecked(graph, feeds);
    assert.ok(expected.size > 0, `data set ${s}: no expected outputs`);
    for (const [name, want] of expected) {
      const got = values.get(name);
      assert.ok(got, `data set ${s}: no output '${name}'`);
      assertTensor(got, want, `data set ${s}, output '${name}'`);
    }
  }
}

/** Asserts that importing `folder` is refused, naming a type the IR lacks. */
function checkDtypeRefusal(folder: Folder): void {
  assert.throws(
    () => loadNodeTest(folder.dir),
    (e: unknown) => {
      assert.ok(e instanceof UnsupportedDtypeError, `${e}`);
      assert.ok(folder.unsupported.includes(e.typeName), e.typeName);
      assert.ok(e.message.includes(e.typeName), e.message);
      return true;
    },
  );
}

/** Options of {@linkcode registerNodeTests}. */
export interface NodeTestOptions {
  /** Ops of the list that no single-node test in the shared set uses. */
  readonly untested?: readonly string[];
  /**
   * Tests the frontend refuses on purpose (e.g. training-mode Dropout), by
   * folder name (`test_x`, both sets): what the refusal must say.
   */
  readonly refused?: Readonly<Record<string, RegExp>>;
}

/**
 * Registers one Deno test per node test of the given ONNX op types, main
 * and legacy set. A single-node test of one of the ops:
 * - of an opset the frontend lacks (newer than `MAX_OPSET`) must be refused
 *   on import with an {@linkcode UnsupportedOpsetError};
 * - with element types the IR lacks (bfloat16, float8, string, sequences…,
 *   by the model's own types) must be refused on import with an
 *   {@linkcode UnsupportedDtypeError} naming the type;
 * - named in `refused` must be refused with a matching message;
 * - otherwise is imported and checked (see the module doc).
 *
 * A multi-node test (ONNX's `_expanded` function bodies) whose last node is
 * one of the ops is imported and checked when the op table resolves every
 * node and the IR has its types; the others are counted by the frontend's
 * runner as unclaimed or excluded, and not registered here.
 */
export function registerNodeTests(
  onnxOps: readonly string[],
  { refused = {}, untested = [] }: NodeTestOptions = {},
): void {
  const mine = allFolders().filter((f) =>
    onnxOps.includes(f.opTypes[f.opTypes.length - 1])
  );
  const single = mine.filter((f) => f.opTypes.length === 1);
  for (const folder of mine) {
    const { label, name, dir, opTypes, unsupportedOpset, unsupported } = folder;
    const title = `onnx ${opTypes[opTypes.length - 1]} ${label}`;
    const reason = refused[name];
    if (opTypes.length > 1) {
      if (folder.resolved && unsupported.length === 0) {
        Deno.test(title, () => checkNodeTest(loadNodeTest(dir)));
      }
    } else if (unsupportedOpset !== undefined) {
      Deno.test(`${title} is refused: opset ${unsupportedOpset}`, () => {
        assert.throws(() => loadNodeTest(dir), UnsupportedOpsetError);
      });
    } else if (unsupported.length > 0) {
      Deno.test(
        `${title} is refused: ${unsupported.join(", ")}`,
        () => checkDtypeRefusal(folder),
      );
    } else if (reason !== undefined) {
      Deno.test(`${title} is refused: ${reason.source}`, () => {
        assert.throws(() => loadNodeTest(dir), (e: unknown) => {
          assert.ok(e instanceof UnsupportedOpsError, `${e}`);
          assert.match(e.message, reason);
          return true;
        });
      });
    } else {
      Deno.test(title, () => checkNodeTest(loadNodeTest(dir)));
    }
  }
  Deno.test(`onnx node tests cover ${onnxOps.join(", ")}`, () => {
    const missing = onnxOps.filter((op) =>
      !single.some((f) => f.opTypes[0] === op)
    );
    assert.deepEqual(missing, untested, "ops without single-node tests");
    for (const name of Object.keys(refused)) {
      assert.ok(single.some((f) => f.name === name), `no node test ${name}`);
    }
  });
}
