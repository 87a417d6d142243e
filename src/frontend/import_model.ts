/**
 * ONNX model → IR graph: decode, check, order, resolve every op against the
 * op table, then run each op's importer.
 *
 * @module
 */

import onnx from "onnx-proto";
import {
  type Attrs,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  type ValueType,
} from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { findOp } from "../ops/mod.ts";
import { convertAttributes } from "./attributes.ts";
import { decodeModel } from "./decode.ts";
import {
  GraphStructureError,
  InvalidNodeError,
  type UnsupportedNode,
  UnsupportedOpsError,
} from "./errors.ts";
import type {
  GraphView,
  ImportContext,
  OnnxNode,
  OpEntry,
} from "./importer.ts";
import { resolveOp } from "./op_table.ts";
import { tensorFromProto, type TensorSource } from "./tensor_proto.ts";
import { topologicalOrder } from "./topo.ts";
import { valueType } from "./value_info.ts";

/** Options of {@linkcode importOnnx}. */
export interface ImportOptions {
  /** The model file's path: named in messages, and the base for external data. */
  readonly path?: string;
}

/** A model imported into the IR. */
export interface ImportResult {
  /** The IR graph. */
  readonly graph: Graph;
  /** Sentences about things the importer fixed up (e.g. reordered nodes). */
  readonly warnings: readonly string[];
  /** The model's ai.onnx opset. */
  readonly opset: number;
}

/** A NodeProto as decoded by onnx-proto. */
type NodeProto = onnx.onnx.INodeProto;

/**
 * Imports an ONNX model from its bytes.
 *
 * @example
 * ```ts
 * const bytes = Deno.readFileSync("model.onnx");
 * const { graph, warnings } = importOnnx(bytes, { path: "model.onnx" });
 * ```
 * @throws {FrontendError} subclasses, with messages fit for users.
 */
export function importOnnx(
  bytes: Uint8Array,
  options: ImportOptions = {},
): ImportResult {
  const file = options.path;
  const { model, opset } = decodeModel(bytes, file);
  const g = model.graph!;
  const source: TensorSource = { file, cache: new Map() };
  const warnings: string[] = [];

  const constants = new Map<string, Tensor>();
  for (const init of g.initializer ?? []) {
    const name = init.name ?? "";
    if (constants.has(name)) {
      throw new GraphStructureError("defined-twice", name, undefined, file);
    }
    constants.set(name, tensorFromProto(init, source));
  }
  // Old IR versions list initializers among the inputs too; newer ones use
  // that to mark overridable defaults. Either way they are constants here.
  const inputs = (g.input ?? []).map((v) => v.name ?? "").filter((n) =>
    !constants.has(n)
  );
  const outputs = (g.output ?? []).map((v) => v.name ?? "");
  const types = new Map<string, ValueType>();
  for (
    const info of [
      ...(g.input ?? []),
      ...(g.output ?? []),
      ...(g.valueInfo ?? []),
    ]
  ) {
    const t = valueType(info, file);
    if (t !== undefined && !constants.has(info.name ?? "")) {
      types.set(info.name ?? "", t);
    }
  }

  const protos = g.node ?? [];
  const names = uniqueNodeNames(protos);
  const sortable = protos.map((p, i) => ({
    name: names[i],
    inputs: p.input ?? [],
    outputs: p.output ?? [],
  }));
  const order = topologicalOrder(
    sortable,
    [...inputs, ...constants.keys()],
    file,
  );
  const moved = order.filter((k, i) => k !== i).length;
  if (moved > 0) {
    warnings.push(
      `The nodes of ${
        file === undefined ? "the model" : `'${file}'`
      } were not in topological order (${moved} of ${protos.length} out of place); they were reordered.`,
    );
  }

  const builder = new GraphBuilder(
    constants,
    types,
    allValueNames(g),
    names,
    file,
  );
  const resolved = resolveAll(protos, names, opset, source, builder, file);
  for (const k of order) {
    const { node, entry } = resolved[k];
    // Constant nodes were imported while resolving.
    if (node.opType !== "Constant") entry.importer(builder.contextFor(node));
  }

  warnings.push(...builder.warnings());
  for (const out of outputs) {
    if (!builder.isDefined(out) && !inputs.includes(out)) {
      throw new GraphStructureError("undefined-output", out, undefined, file);
    }
  }
  const graph = makeGraph({
    name: g.name || "main",
    inputs,
    outputs,
    constants: builder.constants,
    nodes: builder.nodes,
    types,
  });
  return { graph, warnings, opset };
}

/** Reads and imports an ONNX model file (external data resolved beside it). */
export function importOnnxFile(path: string): ImportResult {
  return importOnnx(Deno.readFileSync(path), { path });
}

/** Node names made unique: unnamed nodes get `${op}_${index}`, repeats `_2`, `_3`… */
function uniqueNodeNames(protos: readonly NodeProto[]): string[] {
  const taken = new Set<string>();
  return protos.map((p, i) => {
    const base = p.name || `${p.opType}_${i}`;
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  });
}

function allValueNames(g: onnx.onnx.IGraphProto): Set<string> {
  const names = new Set<string>();
  for (
    const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]
  ) {
    names.add(v.name ?? "");
  }
  for (const t of g.initializer ?? []) names.add(t.name ?? "");
  for (const n of g.node ?? []) {
    for (const v of [...(n.input ?? []), ...(n.output ?? [])]) names.add(v);
  }
  return names;
}

/**
 * Resolves every node against the op table and converts its attributes,
 * collecting every node that cannot be imported so that one error lists
 * them all.
 */
function resolveAll(
  protos: readonly NodeProto[],
  names: readonly string[],
  opset: number,
  source: TensorSource,
  graph: GraphBuilder,
  file: string | undefined,
): { node: OnnxNode; entry: OpEntry }[] {
  const unsupported: UnsupportedNode[] = [];
  const nodes = protos.map((p, i) => {
    const opType = p.opType ?? "";
    const domain = p.domain ?? "";
    const resolution = resolveOp(opType, domain, opset);
    const refuse = (version: number | undefined, reason: string) =>
      unsupported.push({ name: names[i], opType, domain, version, reason });
    if (!resolution.ok) {
      refuse(resolution.version, resolution.reason);
      return undefined;
    }
    const [attrs, problems] = convertAttributes(p.attribute ?? [], source);
    const node: OnnxNode = {
      name: names[i],
      opType,
      inputs: p.input ?? [],
      outputs: p.output ?? [],
      attrs,
      version: resolution.version,
    };
    for (const problem of problems) refuse(resolution.version, problem);
    const reason = resolution.entry.refuse?.(node, graph);
    if (reason !== undefined) refuse(resolution.version, reason);
    // Constant values are known before any node runs, so that refusals and
    // importers of later nodes can read them.
    if (
      opType === "Constant" && problems.length === 0 && reason === undefined
    ) {
      resolution.entry.importer(graph.contextFor(node));
    }
    return { node, entry: resolution.entry };
  });
  if (unsupported.length > 0) throw new UnsupportedOpsError(unsupported, file);
  return nodes as { node: OnnxNode; entry: OpEntry }[];
}

/** Accumulates IR nodes and constants, and tracks ranks for importers. */
class GraphBuilder implements GraphView {
  readonly nodes: Node[] = [];
  readonly constants: Map<string, Tensor>;
  /** Types known so far: the model's, plus those inferred for emitted nodes. */
  readonly #known: Map<string, ValueType>;
  readonly #usedValues: Set<string>;
  readonly #usedNodes: Set<string>;
  readonly #defined = new Set<string>();
  readonly #file: string | undefined;
  /** Repair sentences → the nodes they were made at. */
  readonly #repairs = new Map<string, string[]>();

  constructor(
    constants: Map<string, Tensor>,
    types: ReadonlyMap<string, ValueType>,
    usedValues: Set<string>,
    nodeNames: readonly string[],
    file: string | undefined,
  ) {
    this.constants = constants;
    this.#known = new Map(types);
    this.#usedValues = usedValues;
    this.#usedNodes = new Set(nodeNames);
    this.#file = file;
  }

  constantValue(name: string): Tensor | undefined {
    return this.constants.get(name);
  }

  rank(name: string): number | undefined {
    return (this.#known.get(name) ?? this.constants.get(name))?.shape.length;
  }

  /** One warning per kind of repair, naming how many nodes and the first. */
  warnings(): string[] {
    return [...this.#repairs].map(([sentence, nodes]) =>
      `${sentence} (${nodes.length} node${
        nodes.length === 1 ? "" : "s"
      }, first '${nodes[0]}')`
    );
  }

  isDefined(name: string): boolean {
    return this.#defined.has(name) || this.constants.has(name);
  }

  contextFor(node: OnnxNode): ImportContext {
    let named = false;
    const fresh = (hint: string, used: Set<string>) => {
      let name = hint;
      for (let k = 2; used.has(name); k++) name = `${hint}_${k}`;
      used.add(name);
      return name;
    };
    return {
      node,
      constantValue: (name) => this.constantValue(name),
      rank: (name) => this.rank(name),
      emit: (op: string, inputs, outputs, attrs: Attrs = {}) => {
        const primary = !named &&
          outputs.some((o) => o !== "" && node.outputs.includes(o));
        named ||= primary;
        const name = primary
          ? node.name
          : fresh(`${node.name}/${op}`, this.#usedNodes);
        const irNode = makeNode(op, name, inputs, outputs, attrs);
        this.nodes.push(irNode);
        for (const o of outputs) if (o !== "") this.#defined.add(o);
        this.#inferRanks(irNode);
      },
      constant: (hint, value) => {
        const name = fresh(hint, this.#usedValues);
        this.constants.set(name, value);
        return name;
      },
      defineConstant: (name, value) => {
        this.constants.set(name, value);
      },
      fresh: (hint) => fresh(hint, this.#usedValues),
      fail: (problem) => {
        throw new InvalidNodeError(node.name, node.opType, problem, this.#file);
      },
      warn: (sentence) => {
        const nodes = this.#repairs.get(sentence) ?? [];
        nodes.push(node.name);
        this.#repairs.set(sentence, nodes);
      },
    };
  }

  /**
   * Records the output types the IR's own type rules give, so that later
   * importers (Softmax before opset 13) can see ranks the model does not
   * declare. Only a hint: a rule that cannot type the node yet just leaves
   * the types unknown, and the importer then uses its general form; the
   * verifier and shape inference report real errors later.
   */
  #inferRanks(node: Node): void {
    const def = findOp(node.op);
    if (def === undefined) return;
    const inputs = node.inputs.map((n) =>
      n === ""
        ? undefined
        : this.#known.get(n) ?? typeOfConstant(this.constants.get(n))
    );
    if (inputs.some((t, i) => t === undefined && node.inputs[i] !== "")) return;
    try {
      const outputs = def.infer({
        node,
        inputs,
        values: node.inputs.map((n) => this.constants.get(n)),
      });
      node.outputs.forEach((name, k) => {
        if (name !== "" && outputs[k] !== undefined && !this.#known.has(name)) {
          this.#known.set(name, outputs[k]);
        }
      });
    } catch {
      // See above: unknown types are allowed here.
    }
  }
}

function typeOfConstant(t: Tensor | undefined): ValueType | undefined {
  return t === undefined ? undefined : { dtype: t.dtype, shape: t.shape };
}
