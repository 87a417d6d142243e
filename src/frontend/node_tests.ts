/**
 * The ONNX backend node tests: load a test folder (`model.onnx` plus
 * `test_data_set_N/{input,output}_K.pb`), decide whether the frontend claims
 * it, run it on the reference executor and compare with ONNX's expected
 * outputs using ONNX's own backend tolerances.
 *
 * @module
 */

import { join } from "node:path";
import { isFloat } from "../ir/dtype.ts";
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { execute } from "../executor/execute.ts";
import onnx from "onnx-proto";
import type { ModelProto } from "./decode.ts";
import { UnsupportedOpsError, UnsupportedOpsetError } from "./errors.ts";
import { importOnnx } from "./import_model.ts";
import { dtypeOfOnnx } from "./onnx_types.ts";
import { readTensorProtoFile } from "./tensor_proto.ts";
import { nonTensorKind } from "./value_info.ts";
import { onnxTypeName } from "../ops/cast.ts";

/** ONNX's backend test tolerance (onnx/backend/test/runner: rtol 1e-3, atol 1e-7). */
export const TOLERANCE = { rtol: 1e-3, atol: 1e-7 } as const;

/** One set of inputs and the outputs ONNX expects for them. */
export interface NodeTestData {
  /** Graph inputs by name. */
  readonly feeds: Map<string, Tensor>;
  /** Expected graph outputs by name. */
  readonly expected: Map<string, Tensor>;
}

/** A loaded node test. */
export interface LoadedNodeTest {
  /** The imported graph. */
  readonly graph: Graph;
  /** Its data sets, in folder order. */
  readonly data: readonly NodeTestData[];
}

/** What became of one node test. */
export type NodeTestStatus =
  | "passed"
  | "failed"
  | "unclaimed"
  | "unsupported-dtype";

/** The outcome of one node test. */
export interface NodeTestResult {
  /** Folder name, e.g. `test_add_bcast`. */
  readonly name: string;
  /** The folder. */
  readonly dir: string;
  /** The ONNX op types its graph uses. */
  readonly ops: readonly string[];
  /** The outcome. */
  readonly status: NodeTestStatus;
  /** Why it was not claimed or failed; `""` when it passed. */
  readonly detail: string;
}

/** The `test_*` folders directly under `root`, sorted. */
export function listNodeTests(root: string): string[] {
  const dirs: string[] = [];
  for (const entry of Deno.readDirSync(root)) {
    if (entry.isDirectory && entry.name.startsWith("test_")) {
      dirs.push(join(root, entry.name));
    }
  }
  return dirs.sort();
}

/**
 * The element types of a model that the IR lacks, by the model's own types:
 * graph inputs, outputs and value_info, initializers, and tensor attributes.
 */
export function unsupportedTypes(model: ModelProto): string[] {
  const found = new Set<string>();
  const g = model.graph!;
  const code = (c: number | null | undefined) => {
    if (c && dtypeOfOnnx(c) === undefined) found.add(onnxTypeName(c));
  };
  for (
    const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]
  ) {
    if (!v.type) continue;
    const kind = nonTensorKind(v.type);
    if (kind !== undefined) found.add(kind);
    else code(v.type.tensorType!.elemType);
  }
  for (const t of g.initializer ?? []) code(t.dataType);
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) code(a.t.dataType);
      if (a.sparseTensor) found.add("sparse tensor");
    }
  }
  return [...found].sort();
}

/** Loads a node test folder: imports the model and reads every data set. */
export function loadNodeTest(dir: string): LoadedNodeTest {
  const modelPath = join(dir, "model.onnx");
  const { graph } = importOnnx(Deno.readFileSync(modelPath), {
    path: modelPath,
  });
  const sets = [...Deno.readDirSync(dir)]
    .filter((e) => e.isDirectory && e.name.startsWith("test_data_set_"))
    .map((e) => e.name)
    .sort();
  const data = sets.map((set) => ({
    feeds: readTensors(join(dir, set), "input", graph.inputs),
    expected: readTensors(join(dir, set), "output", graph.outputs),
  }));
  return { graph, data };
}

/**
 * Reads `<kind>_K.pb` files in order, binding each by the name stored in
 * it, or by position in `names` when it has none.
 */
function readTensors(
  dir: string,
  kind: "input" | "output",
  names: readonly string[],
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (let k = 0;; k++) {
    const path = join(dir, `${kind}_${k}.pb`);
    let file;
    try {
      file = readTensorProtoFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return out;
      throw e;
    }
    out.set(file.name || names[k], file.tensor);
  }
}

/**
 * Why `actual` does not match `expected` under ONNX's tolerance (floats:
 * |a − e| ≤ atol + rtol·|e|, NaN matching NaN; other types exactly), or
 * `undefined` when it matches.
 */
export function mismatch(actual: Tensor, expected: Tensor): string | undefined {
  if (actual.dtype !== expected.dtype) {
    return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  }
  if (actual.shape.join() !== expected.shape.join()) {
    return `shape [${actual.shape}], expected [${expected.shape}]`;
  }
  const float = isFloat(expected.dtype);
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i], e = expected.data[i];
    const ok = float
      ? (Number.isNaN(e) ? Number.isNaN(a) : a === e ||
        Math.abs(a - e) <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(e))
      : a === e;
    if (!ok) return `element ${i} is ${a}, expected ${e}`;
  }
  return undefined;
}

/** Classifies, and when claimed runs, one node test folder. */
export function runNodeTest(dir: string): NodeTestResult {
  const name = dir.split(/[\\/]/).pop()!;
  const modelPath = join(dir, "model.onnx");
  // Decoded without decodeModel's opset check: a test beyond the supported
  // opsets is still listed, as unclaimed, by the import below.
  const model = onnx.onnx.ModelProto.decode(Deno.readFileSync(modelPath));
  const ops = [...new Set((model.graph!.node ?? []).map((n) => n.opType ?? ""))]
    .sort();
  const result = (status: NodeTestStatus, detail = "") => ({
    name,
    dir,
    ops,
    status,
    detail,
  });
  const types = unsupportedTypes(model);
  if (types.length > 0) return result("unsupported-dtype", types.join(", "));
  let test: LoadedNodeTest;
  try {
    test = loadNodeTest(dir);
  } catch (e) {
    if (
      e instanceof UnsupportedOpsError || e instanceof UnsupportedOpsetError
    ) {
      return result("unclaimed", e.message);
    }
    return result("failed", `import: ${(e as Error).message}`);
  }
  for (const [k, data] of test.data.entries()) {
    let outputs: Map<string, Tensor>;
    try {
      outputs = execute(test.graph, data.feeds);
    } catch (e) {
      return result("failed", `data set ${k}: ${(e as Error).message}`);
    }
    for (const [out, expected] of data.expected) {
      const actual = outputs.get(out);
      const why = actual === undefined ? "missing" : mismatch(actual, expected);
      if (why !== undefined) {
        return result("failed", `data set ${k}, output '${out}': ${why}`);
      }
    }
  }
  return result("passed");
}
