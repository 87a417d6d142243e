/**
 * Lowers a recipe's quantised products to integer GEMMs, after the fusions
 * of `fuse.ts` and before memory planning. The recipe passes emulate the
 * integer formats in f32 values (`BfpQuantize` → q·Δ, `OutlierTile` →
 * Δ_A·Q_A and 2γ·k, `OutlierSplit` → the two BFP streams); here a product
 * whose operands are both such streams reads the integers instead:
 *
 * ```
 * BfpQuantize(x) {bits=8, tensor}  →  BfpMap(x) → (x:q i8, x:e i32)   [+ BfpUnmap for f32 readers]
 * OutlierTile(x)                   →  OutlierTileMap(x) → (q, e, side, meta, wide)
 * OutlierSplit(x)                  →  OutlierSplitMap(x) → (q, e, side, meta)
 * MatMul/Gemm(qa, qb[, bias])      →  IntMatMul(a:q, a:e, b:q, b:e, bias)
 * Add(MatMul(main, w), MatMul(side, w))  →  IntMatMul(main:q, main:e, w:q, w:e, "", side, meta)
 * ```
 *
 * Reshapes between a stream and its products (autodiff's [B,S,K] → [B·S,K]
 * before dW) are bypassed: the product reads the stream's integers with the
 * reshaped shape (`shape_a`/`shape_b`), so the int8 mantissas of X are what
 * stays alive from the forward pass to dW. Only 8-bit operands lower (the
 * int8 GEMM); int12/int16 recipes, row/column exponents and products whose
 * shape this does not cover keep the f32 emulation. An outlier splitter
 * lowers only when every reader of its streams is such a pair of products.
 *
 * @module
 */

import {
  type Attr,
  attr,
  floatAttr,
  type Graph,
  intAttr,
  makeNode,
  type Node,
  stringAttr,
  type ValueType,
  withParts,
} from "../../src/ir/graph.ts";
import { GraphIndex } from "../../src/passes/graph_index.ts";

/** An integer stream: which map makes it and whether it is the side stream. */
interface Stream {
  readonly node: Node;
  readonly side: boolean;
}

/** An operand resolved to a stream, with the shape its product reads. */
interface Operand {
  readonly stream: Stream;
  readonly shape: readonly number[];
}

/** A product and its two operands. */
interface Product {
  readonly node: Node;
  readonly a: Operand;
  readonly b: Operand;
}

const SPLITTERS = new Set(["OutlierTile", "OutlierSplit"]);
const [Q, E] = [":q", ":e"];

/** Whether a map of `node` exists for the integer GEMM (8-bit, per tensor). */
function mappable(node: Node): boolean {
  const a = node.attrs;
  const rounding = stringAttr(a, "rounding", "nearest");
  if (rounding !== "nearest" && rounding !== "stochastic") return false;
  if (node.op === "BfpQuantize") {
    return intAttr(a, "bits", 8) === 8 &&
      stringAttr(a, "granularity", "tensor") === "tensor";
  }
  if (node.op === "OutlierTile") return intAttr(a, "bits", 8) === 8;
  if (node.op === "OutlierSplit") {
    return intAttr(a, "inlier_bits", 8) === 8 &&
      [8, 12, 16].includes(intAttr(a, "outlier_bits", 12));
  }
  return false;
}

/** `graph` with its 8-bit quantised products on integer GEMMs; see the module doc. */
export function lowerQuantized(graph: Graph): Graph {
  const index = new GraphIndex(graph);
  const typeOf = (v: string): ValueType | undefined =>
    graph.types.get(v) ?? graph.constants.get(v);
  const resolve = (v: string): Operand | undefined => {
    const p = index.producer(v);
    const shape = typeOf(v)?.shape as number[] | undefined;
    if (p === undefined || shape === undefined) return undefined;
    if (p.op === "Reshape") {
      const inner = resolve(p.inputs[0]);
      return inner && { stream: inner.stream, shape };
    }
    if (!mappable(p) || typeOf(p.inputs[0])?.dtype !== "f32") return undefined;
    const k = p.outputs.indexOf(v);
    if (k > 1 || (k === 1 && !SPLITTERS.has(p.op))) return undefined;
    return { stream: { node: p, side: k === 1 }, shape };
  };

  const products = new Map<Node, Product>();
  for (const node of graph.nodes) {
    const product = asProduct(node, resolve);
    if (product) products.set(node, product);
  }
  const pairs = findPairs(graph, index, products);
  const candidates = new Set([...pairs.values()].flat());

  // A splitter lowers when everything reading its streams is a paired product.
  const readers = (v: string): Node[] =>
    index.consumersOf(v).flatMap((n) =>
      n.op === "Reshape" && !graph.outputs.includes(n.outputs[0])
        ? readers(n.outputs[0])
        : [n]
    );
  const splitters = new Set<Node>();
  for (const node of graph.nodes) {
    if (!SPLITTERS.has(node.op) || !mappable(node)) continue;
    const streams = node.outputs.slice(0, 2);
    const ok = streams.every((v) =>
      !graph.outputs.includes(v) && readers(v).every((r) => candidates.has(r))
    );
    if (ok) splitters.add(node);
  }
  for (const [add, [main]] of pairs) {
    if (!splitters.has(streamOf(products.get(main)!).node)) pairs.delete(add);
  }
  const paired = new Set([...pairs.values()].flat());
  const lowered = new Set<Node>();
  for (const [node, p] of products) {
    const plain = !p.a.stream.side && !p.b.stream.side &&
      !SPLITTERS.has(p.a.stream.node.op) && !SPLITTERS.has(p.b.stream.node.op);
    if (plain) lowered.add(node);
  }
  for (const [m, s] of pairs.values()) lowered.add(m).add(s);
  const maps = new Set<Node>(splitters);
  for (const node of lowered) {
    const p = products.get(node)!;
    maps.add(p.a.stream.node).add(p.b.stream.node);
  }

  // Reshapes whose every reader is gone, last first.
  const removed = new Set<Node>(lowered);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (n.op !== "Reshape" || graph.outputs.includes(n.outputs[0])) continue;
    const readBy = index.consumersOf(n.outputs[0]);
    if (readBy.length > 0 && readBy.every((r) => removed.has(r))) {
      removed.add(n);
    }
  }
  const needsUnmap = (v: string) =>
    graph.outputs.includes(v) ||
    index.consumersOf(v).some((r) => !removed.has(r));

  const types = new Map<string, ValueType>(graph.types);
  const biasAdds = new Map<Node, Node>();
  for (const [add, [m, s]] of pairs) {
    const b = biasAdd(
      graph,
      index,
      typeOf,
      add,
      products.get(m)!,
      products.get(s)!,
    );
    if (b) biasAdds.set(add, b);
  }
  const fusedBias = new Set(biasAdds.values());
  const nodes = graph.nodes.flatMap((node): Node[] => {
    if (maps.has(node)) return mapNodes(node, typeOf, types, needsUnmap);
    if (fusedBias.has(node)) return [];
    const pair = pairs.get(node);
    if (pair) {
      const [m, s] = pair.map((n) => products.get(n)!);
      const b = biasAdds.get(node);
      const bias = b?.inputs.find((v) => v !== node.outputs[0]);
      return [intMatMul(m, (b ?? node).outputs[0], s, bias)];
    }
    if (paired.has(node)) return [];
    if (lowered.has(node)) {
      return [intMatMul(products.get(node)!, node.outputs[0])];
    }
    return removed.has(node) ? [] : [node];
  });
  return withParts(graph, { nodes, types });
}

/**
 * The Add of a per-column bias that alone reads the sum of a MatMul pair
 * whose side stream is its (untransposed) activation: the IntMatMul adds
 * it after the side product, as the reference does.
 */
function biasAdd(
  graph: Graph,
  index: GraphIndex,
  typeOf: (v: string) => ValueType | undefined,
  sum: Node,
  main: Product,
  side: Product,
): Node | undefined {
  const add = index.soleConsumer(sum.outputs[0], "Add");
  const untransposed = side.a.stream.side &&
    intAttr(side.node.attrs, "transA", 0) === 0;
  if (
    add === undefined || main.node.op !== "MatMul" ||
    main.node.inputs.length !== 2 || !untransposed
  ) return undefined;
  const bias = add.inputs.find((v) => v !== sum.outputs[0]);
  const out = typeOf(sum.outputs[0])?.shape as number[];
  const b = bias === undefined ? undefined : typeOf(bias);
  const n = out[out.length - 1];
  const perColumn = b !== undefined && b.dtype === "f32" &&
    b.shape.reduce((p: number, d) => p * (d as number), 1) === n &&
    b.shape[b.shape.length - 1] === n &&
    add.inputs[0] !== add.inputs[1] &&
    typeOf(add.outputs[0])?.shape.join() === out.join();
  return perColumn && !graph.outputs.includes(sum.outputs[0]) ? add : undefined;
}

/** The splitter or map behind a product's non-side outlier operand. */
function streamOf(p: Product): Stream {
  return SPLITTERS.has(p.a.stream.node.op) ? p.a.stream : p.b.stream;
}

/** `node` as a product of two streams, when its shape is one IntMatMul covers. */
function asProduct(
  node: Node,
  resolve: (v: string) => Operand | undefined,
): Product | undefined {
  if (node.op !== "MatMul" && node.op !== "Gemm") return undefined;
  const a = resolve(node.inputs[0]), b = resolve(node.inputs[1]);
  if (a === undefined || b === undefined) return undefined;
  const rank = node.op === "Gemm" ? [2, 2] : [2, Infinity];
  const fits = (s: readonly number[]) =>
    s.length >= rank[0] && s.length <= rank[1];
  return fits(a.shape) && fits(b.shape) ? { node, a, b } : undefined;
}

/**
 * Add nodes summing a main product and its side product: same splitter at
 * the same operand, the same other operand and attributes, no bias on the
 * side, each read only by the Add. Maps each Add to [main, side].
 */
function findPairs(
  graph: Graph,
  index: GraphIndex,
  products: ReadonlyMap<Node, Product>,
): Map<Node, [Node, Node]> {
  const pairs = new Map<Node, [Node, Node]>();
  for (const add of graph.nodes) {
    if (add.op !== "Add") continue;
    const [x, y] = add.inputs.map((v) => index.producer(v));
    for (const [m, s] of [[x, y], [y, x]]) {
      const pm = m && products.get(m), ps = s && products.get(s);
      if (!pm || !ps || pm.node.op !== ps.node.op) continue;
      const at = ps.a.stream.side ? 0 : ps.b.stream.side ? 1 : -1;
      if (at < 0) continue;
      const [main, side] = at === 0 ? [pm.a, ps.a] : [pm.b, ps.b];
      const other = 1 - at;
      const ok = !main.stream.side && main.stream.node === side.stream.node &&
        pm.node.inputs[other] === ps.node.inputs[other] &&
        (ps.node.inputs[2] ?? "") === "" &&
        floatAttr(ps.node.attrs, "alpha", 1) === 1 &&
        ["transA", "transB"].every((t) =>
          intAttr(pm.node.attrs, t, 0) === intAttr(ps.node.attrs, t, 0)
        ) &&
        [pm, ps].every((p) => index.soleConsumer(p.node.outputs[0]) === add);
      if (ok) pairs.set(add, [pm.node, ps.node]);
    }
  }
  return pairs;
}

/** The map (and, where f32 readers remain, unmap) replacing quantiser `node`. */
function mapNodes(
  node: Node,
  typeOf: (v: string) => ValueType | undefined,
  types: Map<string, ValueType>,
  needsUnmap: (v: string) => boolean,
): Node[] {
  const x = typeOf(node.inputs[0])!;
  const out = node.outputs[0];
  types.set(out + Q, { dtype: "i8", shape: x.shape });
  types.set(out + E, { dtype: "i32", shape: [] });
  if (node.op === "BfpQuantize") {
    const map = makeNode(
      "BfpMap",
      node.name,
      node.inputs,
      [out + Q, out + E],
      node.attrs,
    );
    if (!needsUnmap(out)) return [map];
    const unmap = makeNode(
      "BfpUnmap",
      `${node.name}/unmap`,
      [out + Q, out + E],
      [out],
      {
        bits: attr.int(8),
      },
    );
    return [map, unmap];
  }
  const shape = x.shape as number[];
  const cols = shape[shape.length - 1];
  const size = shape.reduce((p, d) => p * d, 1);
  const tile = node.op === "OutlierTile";
  const wide16 = !tile && intAttr(node.attrs, "outlier_bits", 12) !== 8;
  const [side, meta] = [`${node.name}:side`, `${node.name}:meta`];
  types.set(side, { dtype: wide16 ? "i16" : "i8", shape: [size] });
  types.set(meta, { dtype: "i32", shape: [cols + 3] });
  const outputs = [
    out + Q,
    out + E,
    side,
    meta,
    ...(tile ? [node.outputs[2] ?? ""] : []),
  ];
  return [
    makeNode(`${node.op}Map`, node.name, node.inputs, outputs, node.attrs),
  ];
}

/** Operand names of a stream: its map's integers and exponent. */
function operandNames(o: Operand): [string, string] {
  const v = o.stream.node.outputs[0];
  return [v + Q, v + E];
}

/**
 * The IntMatMul of product `p` (with the side product `s` of a pair, and
 * the bias added after it).
 */
function intMatMul(
  p: Product,
  output: string,
  s?: Product,
  bias?: string,
): Node {
  const n = p.node;
  const attrs: Record<string, Attr> = {
    transA: attr.int(intAttr(n.attrs, "transA", 0)),
    transB: attr.int(intAttr(n.attrs, "transB", 0)),
    shape_a: attr.ints(p.a.shape),
    shape_b: attr.ints(p.b.shape),
    bits_a: attr.int(8),
    bits_b: attr.int(8),
  };
  if (n.op === "Gemm") {
    attrs.gemm = attr.int(1);
    attrs.alpha = attr.float(floatAttr(n.attrs, "alpha", 1));
    attrs.beta = attr.float(floatAttr(n.attrs, "beta", 1));
  }
  let side = ["", ""];
  if (s) {
    const sideOperand = s.a.stream.side ? s.a : s.b;
    const splitter = sideOperand.stream.node;
    attrs.side = attr.int(s.a.stream.side ? 1 : 2);
    attrs.side_kind = attr.string(
      splitter.op === "OutlierTile" ? "tile" : "bfp",
    );
    attrs.gamma = attr.float(floatAttr(splitter.attrs, "gamma", 5));
    attrs.side_bits = attr.int(intAttr(splitter.attrs, "outlier_bits", 12));
    side = [`${splitter.name}:side`, `${splitter.name}:meta`];
  }
  return makeNode(
    "IntMatMul",
    n.name,
    [
      ...operandNames(p.a),
      ...operandNames(p.b),
      bias ?? n.inputs[2] ?? "",
      ...side,
    ],
    [output],
    attrs,
  );
}
