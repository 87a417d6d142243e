/**
 * Where a recipe applies: the forward matrix products of a graph and, when
 * the graph holds a backward pass, the backward GEMMs that belong to each.
 *
 * - A **weighted** product is a MatMul, or a Gemm without transA, whose
 *   right operand B is a weight: a 2-D float constant or graph input (the
 *   step graph feeds its parameters as inputs), possibly already wrapped by
 *   a quantiser (so the passes compose).
 * - An **attention** product is any other forward MatMul (Q·Kᵀ, P·V).
 * - The **backward GEMMs** of a product F are found by the autodiff
 *   convention that names backward nodes `${F}@grad/…`: the MatMul/Gemm
 *   nodes there and the Reshape/Transpose chains that feed only them. A
 *   bias gradient's ReduceSum (Gemm's dC) lies off these paths, so it keeps
 *   reading the unquantised dY, as NUMERICS.md §2 wants.
 *
 * @module
 */

import { isFloat } from "../ir/dtype.ts";
import { type Graph, intAttr, type Node } from "../ir/graph.ts";
import { GraphIndex } from "../passes/graph_index.ts";

/** A product whose backward pass has a shape the quantisation passes do not know. */
export class RewriteError extends Error {
  /** The forward product at fault. */
  readonly nodeName: string;

  /** Builds the error for the product named `nodeName`. */
  constructor(nodeName: string, message: string) {
    super(message);
    this.name = "RewriteError";
    this.nodeName = nodeName;
  }
}

/** Operators the quantisation passes put around an operand. */
const QUANTIZERS: ReadonlySet<string> = new Set([
  "BfpQuantize",
  "F16Round",
]);

/** One forward matrix product and its backward GEMMs. */
export interface ProductSite {
  /** The forward MatMul or Gemm. */
  readonly node: Node;
  /** `weighted` (B is a weight) or `attention` (both operands computed). */
  readonly kind: "weighted" | "attention";
  /** Backward nodes on the paths into the backward GEMMs, in graph order. */
  readonly backward: readonly Node[];
  /** The output gradient those paths read, when there is a backward pass. */
  readonly dy?: string;
}

/** Whether `node` was emitted by autodiff. */
function isBackward(node: Node): boolean {
  return node.name.includes("@grad");
}

/** Whether `value` is a weight: a 2-D float leaf, or a quantiser of one. */
function isWeight(graph: Graph, index: GraphIndex, value: string): boolean {
  const producer = index.producer(value);
  if (producer !== undefined) {
    return QUANTIZERS.has(producer.op) &&
      isWeight(graph, index, producer.inputs[0]);
  }
  const t = graph.constants.get(value) ?? graph.types.get(value);
  return t !== undefined && isFloat(t.dtype) && t.shape.length === 2;
}

/** The forward products of `graph` with their backward GEMMs, in graph order. */
export function findProducts(graph: Graph): ProductSite[] {
  const index = new GraphIndex(graph);
  const groups = backwardGroups(graph);
  const sites: ProductSite[] = [];
  for (const node of graph.nodes) {
    if (isBackward(node) || !isProduct(node)) continue;
    const weighted = isWeight(graph, index, node.inputs[1]);
    if (!weighted && node.op !== "MatMul") continue;
    const backward = gemmPaths(index, groups.get(node.name) ?? []);
    sites.push({
      node,
      kind: weighted ? "weighted" : "attention",
      backward,
      dy: outputGradient(graph, node, backward),
    });
  }
  return sites;
}

/** MatMul, or Gemm with A untransposed (A's rows are tokens). */
function isProduct(node: Node): boolean {
  return node.op === "MatMul" ||
    (node.op === "Gemm" && intAttr(node.attrs, "transA", 0) === 0);
}

/** Backward nodes by the forward node they are named after. */
function backwardGroups(graph: Graph): Map<string, Node[]> {
  const groups = new Map<string, Node[]>();
  for (const node of graph.nodes) {
    const at = node.name.indexOf("@grad/");
    if (at < 0) continue;
    const owner = node.name.slice(0, at);
    groups.set(owner, [...(groups.get(owner) ?? []), node]);
  }
  return groups;
}

/** The nodes of `group` that are GEMMs or shape chains feeding only GEMMs. */
function gemmPaths(index: GraphIndex, group: readonly Node[]): Node[] {
  const on = new Set<Node>();
  for (let i = group.length - 1; i >= 0; i--) {
    const n = group[i];
    const feedsOnly = (n.op === "Reshape" || n.op === "Transpose") &&
      n.outputs.every((o) => {
        const readers = index.consumersOf(o);
        return readers.length > 0 && readers.every((r) => on.has(r)) &&
          !index.graph.outputs.includes(o);
      });
    if (n.op === "MatMul" || n.op === "Gemm" || feedsOnly) on.add(n);
  }
  return group.filter((n) => on.has(n));
}

/**
 * The one value the backward paths read from outside that is neither a
 * forward operand nor a constant: dY. `undefined` without a backward pass.
 */
function outputGradient(
  graph: Graph,
  node: Node,
  backward: readonly Node[],
): string | undefined {
  const inside = new Set(backward.flatMap((n) => n.outputs));
  const read = new Set(
    backward.flatMap((n) => n.inputs).filter((v) =>
      v !== "" && !inside.has(v) && !node.inputs.includes(v) &&
      !graph.constants.has(v)
    ),
  );
  if (read.size > 1) {
    throw new RewriteError(
      node.name,
      `The backward GEMMs of '${node.name}' read ${read.size} outside values (${
        [...read].join(", ")
      }), not one dY; check the autodiff rule of ${node.op}.`,
    );
  }
  return [...read][0];
}

/** The backward nodes of `site` that read `value` directly. */
export function readersIn(site: ProductSite, value: string): Node[] {
  return site.backward.filter((n) => n.inputs.includes(value));
}
