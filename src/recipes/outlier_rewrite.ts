/**
 * The rewrite behind `outlier-split` (Approach 1) and `outlier-tile`
 * (Approach 2), NUMERICS.md §3: the activation X of every weighted forward
 * product F becomes two streams, and each product that reads X becomes two
 * products and an Add —
 *
 * ```
 * (main, side) = OutlierSplit(X) | OutlierTile(X)      @F/outlier_split | @F/outlier_tile
 * Y  = MatMul(main, W) + MatMul(side, W)                @F/main, @F/outliers | @F/coarse, @F/sum
 * dW = main-chainᵀ·dY + side-chainᵀ·dY                  @…@grad/MatMul_2, …/outliers, …/sum
 * ```
 *
 * so dW reuses the saved forward streams, dX is untouched and gradients are
 * never split. Each product rounds once to f32 and the parts add in f32 —
 * the kernels' `sumProducts`, bit for bit. Every stream is exact in f32
 * (q·Δ, and 2γ·k with 2γ of ≤ 8 significant bits), so each product is the
 * integer GEMM's result. A Gemm keeps its bias on the main product.
 *
 * @module
 */

import {
  attr,
  type Attrs,
  type Graph,
  makeNode,
  type Node,
} from "../ir/graph.ts";
import { GraphEditor } from "./editor.ts";
import { Quantizers, type QuantizeTarget } from "./quantizer.ts";
import { gammaFor } from "./recipe.ts";
import { findProducts, type ProductSite, RewriteError } from "./sites.ts";

/** Which treatment: the operator, its outputs and the side stream's name. */
const METHODS = {
  split: {
    op: "OutlierSplit",
    node: "outlier_split",
    outputs: ["inliers", "outliers"],
    side: "outliers",
  },
  tile: {
    op: "OutlierTile",
    node: "outlier_tile",
    outputs: ["remainder", "coarse", "wide"],
    side: "coarse",
  },
} as const;

/** Splits the activations of the weighted products; see the module doc. */
export function rewriteOutliers(
  graph: Graph,
  target: QuantizeTarget,
  method: "split" | "tile",
): Graph {
  const sites = findProducts(graph).filter((s) => s.kind === "weighted");
  if (sites.length === 0) return graph;
  const editor = new GraphEditor(graph);
  const q = new Quantizers(editor, target);
  const streams = new Map<string, [string, string]>();
  for (const site of sites) {
    const f = site.node;
    const x = f.inputs[0];
    const gamma = gammaFor(target.recipe, f.name);
    const key = `${gamma}\u0000${x}`;
    let pair = streams.get(key);
    if (pair === undefined) {
      const splitter = makeSplitter(editor, q, f, x, gamma, method);
      editor.insertBefore(f, [splitter]);
      pair = [splitter.outputs[0], splitter.outputs[1]];
      streams.set(key, pair);
    }
    const side = METHODS[method].side;
    editor.replace(f, twoProducts(editor, f, x, pair, side, true));
    rewriteGradWeight(editor, site, x, pair, side);
  }
  return editor.build();
}

function makeSplitter(
  editor: GraphEditor,
  q: Quantizers,
  f: Node,
  x: string,
  gamma: number,
  method: "split" | "tile",
): Node {
  const m = METHODS[method];
  const { recipe } = q.target;
  const name = `${f.name}/${m.node}`;
  const bits: Attrs = method === "split"
    ? {
      inlier_bits: attr.int(recipe.bits.activation),
      outlier_bits: attr.int(recipe.outlierBits),
    }
    : { bits: attr.int(recipe.bits.activation) };
  return editor.make(
    m.op,
    name,
    [x, ...q.seedInputs()],
    { gamma: attr.float(gamma), ...bits, ...q.roundingAttrs(x) },
    m.outputs.map((o) => `${name}/${o}`),
  );
}

/**
 * `node` (reading `x`) as a main product, a side product and their sum
 * under `node`'s outputs. `keepBias`: a Gemm's C stays on the main product.
 */
function twoProducts(
  editor: GraphEditor,
  node: Node,
  x: string,
  [main, side]: readonly [string, string],
  sideName: string,
  keepBias: boolean,
): Node[] {
  const inputs = editor.latest(node).inputs;
  const swap = (to: string) => inputs.map((i) => i === x ? to : i);
  const sideInputs = keepBias ? swap(side).slice(0, 2) : swap(side);
  const mainNode = editor.make(
    node.op,
    `${node.name}/main`,
    swap(main),
    node.attrs,
  );
  const sideNode = editor.make(
    node.op,
    `${node.name}/${sideName}`,
    sideInputs,
    node.attrs,
  );
  const sum = editor.typed(
    makeNode("Add", editor.fresh(`${node.name}/sum`), [
      mainNode.outputs[0],
      sideNode.outputs[0],
    ], node.outputs),
  );
  return [mainNode, sideNode, sum];
}

/**
 * The dW product of `site` from the forward streams: the shape chain from X
 * to the GEMM reads `main`, a copy of it reads `side`, and the two GEMMs add.
 */
function rewriteGradWeight(
  editor: GraphEditor,
  site: ProductSite,
  x: string,
  pair: readonly [string, string],
  sideName: string,
): void {
  const chain = dependents(site.backward, x);
  const gemms = chain.filter((n) => n.op === "MatMul" || n.op === "Gemm");
  if (gemms.length === 0) return;
  if (gemms.length > 1) {
    throw new RewriteError(
      site.node.name,
      `The backward of '${site.node.name}' has ${gemms.length} GEMMs reading its activation; expected one (dW).`,
    );
  }
  const [gemm] = gemms;
  const shapes = chain.filter((n) => n !== gemm);
  const sideOf = new Map([[x, pair[1]]]);
  const copies = shapes.map((n) => {
    const outputs = n.outputs.map((o) => `${o}/${sideName}`);
    const copy = editor.make(
      n.op,
      `${n.name}/${sideName}`,
      editor.latest(n).inputs.map((i) => sideOf.get(i) ?? i),
      n.attrs,
      outputs,
    );
    n.outputs.forEach((o, k) => sideOf.set(o, copy.outputs[k]));
    return copy;
  });
  for (const n of shapes) editor.redirect(n, new Map([[x, pair[0]]]));
  const g = editor.latest(gemm);
  const chainIn = g.inputs.find((i) => sideOf.has(i))!;
  const [main, side, sum] = twoProducts(
    editor,
    g,
    chainIn,
    [g.inputs.includes(x) ? pair[0] : chainIn, sideOf.get(chainIn)!],
    sideName,
    false,
  );
  editor.replace(gemm, [...copies, main, side, sum]);
}

/** The nodes of `nodes` (in order) that depend on `value`. */
function dependents(nodes: readonly Node[], value: string): Node[] {
  const reached = new Set([value]);
  return nodes.filter((n) => {
    if (!n.inputs.some((i) => reached.has(i))) return false;
    for (const o of n.outputs) reached.add(o);
    return true;
  });
}
