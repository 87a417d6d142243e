/**
 * The engine's graph rewrites, run before memory planning so the planner
 * sees the true lifetimes.
 *
 * Transposes into products: a Transpose
 * that only swaps the last two dims and feeds a single f32 MatMul or Gemm is
 * folded into that product as a transposed operand (`transA`/`transB`), since
 * the GEMM packing reads strided views anyway. Autodiff emits this pattern
 * for every backward product (dX = dY·Wᵀ, dW = Xᵀ·dY, and the attention
 * grads), so folding it saves a full copy per product and the arena slot it
 * would occupy. On MatMul, `transA`/`transB` are engine-internal marks: the
 * product reads that operand with its last two dims swapped.
 *
 * Biases into products: `Add(MatMul(x, W), b)` with a 2-D W and b one value
 * per output column becomes `MatMul(x, W, b)` (an engine-internal third
 * operand), added by the GEMM's epilogue instead of a pass over the output.
 *
 * @module
 */

import {
  attr,
  type Graph,
  intAttr,
  intsAttr,
  makeNode,
  type Node,
  withParts,
} from "../../src/ir/graph.ts";
import { sizeOf } from "../../src/ir/tensor.ts";

/** How many times each value is read, graph outputs counting as reads. */
function useCounts(graph: Graph): Map<string, number> {
  const uses = new Map<string, number>();
  for (const node of graph.nodes) {
    for (const i of node.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  for (const o of graph.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);
  return uses;
}

/** Whether `perm` swaps exactly the last two of its dims. */
function swapsLastTwo(
  perm: readonly number[] | undefined,
  rank: number,
): boolean {
  if (perm === undefined) return rank === 2;
  if (perm.length < 2) return false;
  return perm.every((p, i) =>
    i < perm.length - 2
      ? p === i
      : p === (i === perm.length - 2 ? i + 1 : i - 1)
  );
}

/** `graph` with last-two-dim transposes folded into the products they feed. */
export function fuseTransposes(graph: Graph): Graph {
  const uses = useCounts(graph);
  const producer = new Map<string, Node>();
  for (const node of graph.nodes) {
    if (node.op !== "Transpose") continue;
    const type = graph.types.get(node.outputs[0]);
    if (type?.dtype !== "f32" || uses.get(node.outputs[0]) !== 1) continue;
    if (swapsLastTwo(intsAttr(node.attrs, "perm"), type.shape.length)) {
      producer.set(node.outputs[0], node);
    }
  }
  const folded = new Set<Node>();
  const nodes = graph.nodes.map((node) => {
    if (node.op !== "MatMul" && node.op !== "Gemm") return node;
    const inputs = [...node.inputs];
    const attrs = { ...node.attrs };
    let changed = false;
    ["transA", "transB"].forEach((flag, i) => {
      const t = producer.get(inputs[i]);
      // MatMul's 1-D operands have no last-two dims to swap.
      if (
        t === undefined || (graph.types.get(inputs[i])?.shape.length ?? 0) < 2
      ) return;
      inputs[i] = t.inputs[0];
      attrs[flag] = attr.int(1 - intAttr(node.attrs, flag, 0));
      folded.add(t);
      changed = true;
    });
    return changed
      ? makeNode(node.op, node.name, inputs, node.outputs, attrs)
      : node;
  });
  return withParts(graph, { nodes: nodes.filter((n) => !folded.has(n)) });
}

/** `graph` with per-column bias Adds folded into the MatMuls they follow. */
export function fuseBiases(graph: Graph): Graph {
  const uses = useCounts(graph);
  const shape = (v: string) =>
    graph.types.get(v)?.shape ?? graph.constants.get(v)?.shape;
  const dtype = (v: string) =>
    graph.types.get(v)?.dtype ?? graph.constants.get(v)?.dtype;
  const products = new Map<string, Node>();
  for (const node of graph.nodes) {
    const [x, w] = node.inputs;
    const ok = node.op === "MatMul" && node.inputs.length === 2 &&
      dtype(x) === "f32" && dtype(w) === "f32" && shape(w)?.length === 2 &&
      intAttr(node.attrs, "transA", 0) === 0 &&
      uses.get(node.outputs[0]) === 1;
    if (ok) products.set(node.outputs[0], node);
  }
  // Each fused product replaces its Add (where the bias exists) and leaves
  // its own place empty.
  const replaced = new Map<Node, Node | undefined>();
  for (const node of graph.nodes) {
    if (node.op !== "Add") continue;
    const k = products.has(node.inputs[0]) ? 0 : 1;
    const product = products.get(node.inputs[k]);
    const bias = node.inputs[1 - k];
    const out = shape(node.outputs[0]);
    const b = shape(bias);
    const n = out?.[out.length - 1];
    const perColumn = b !== undefined && dtype(bias) === "f32" &&
      sizeOf(b as number[]) === n && b[b.length - 1] === n;
    const sameShape = out?.join() === shape(node.inputs[k])?.join();
    if (product === undefined || !perColumn || !sameShape) continue;
    replaced.set(product, undefined);
    replaced.set(
      node,
      makeNode(
        "MatMul",
        product.name,
        [...product.inputs, bias],
        node.outputs,
        product.attrs,
      ),
    );
  }
  const nodes = graph.nodes.flatMap((node) => {
    if (!replaced.has(node)) return [node];
    const fused = replaced.get(node);
    return fused === undefined ? [] : [fused];
  });
  return withParts(graph, { nodes });
}
