/**
 * `bfp-quantize`: rounds the operands of the recipe's matrix products to
 * the recipe's format — BFP-b (`BfpQuantize`) or f16 (`F16Round`) — in the
 * forward graph and, where there is one, in both backward GEMMs
 * (NUMERICS.md §2):
 *
 * - weight W → weight bits, mapped once; the forward product and dX = dY·Wᵀ
 *   read the same Qw;
 * - activation X → activation bits, mapped once; the forward product and
 *   dW = Xᵀ·dY read the same Qx (unless the recipe treats outliers: then
 *   `outlier-split` / `outlier-tile` own X);
 * - output gradient dY → gradient bits, mapped once for both backward GEMMs;
 *   the bias gradient keeps the f32 dY;
 * - with `attentionInt`, both operands of Q·Kᵀ and P·V as activations.
 *
 * Quantisers are named after the product: `${F}/quantize_a`,
 * `${F}/quantize_b`, `${F}@grad/quantize_dy`. An f32 recipe changes nothing.
 *
 * Before (a linear layer and its backward):
 * ```text
 * %y: f32[4,3] = MatMul(x, w) @/dense/MatMul
 * %"/dense/MatMul@grad/Transpose": f32[3,8] = Transpose(w) {perm=[1, 0]} @"/dense/MatMul@grad/Transpose"
 * %"x@grad": f32[4,8] = MatMul("y@grad", "/dense/MatMul@grad/Transpose") @"/dense/MatMul@grad/MatMul"
 * ```
 * After (int8, training):
 * ```text
 * %/dense/MatMul/quantize_a: f32[4,8] = BfpQuantize(x, step) {bits=8, granularity="tensor", rounding="stochastic", stream=…} @/dense/MatMul/quantize_a
 * %/dense/MatMul/quantize_b: f32[8,3] = BfpQuantize(w, step) {…} @/dense/MatMul/quantize_b
 * %y: f32[4,3] = MatMul(/dense/MatMul/quantize_a, /dense/MatMul/quantize_b) @/dense/MatMul
 * %"/dense/MatMul@grad/quantize_dy": f32[4,3] = BfpQuantize("y@grad", step) {…} @"/dense/MatMul@grad/quantize_dy"
 * …Transpose(/dense/MatMul/quantize_b)…; MatMul("/dense/MatMul@grad/quantize_dy", …)
 * ```
 * The full pair is `tests/passes/golden/bfp-quantize.{before,after}.ir`.
 *
 * @module
 */

import type { Graph, Node } from "../ir/graph.ts";
import { GraphEditor } from "../recipes/editor.ts";
import { Quantizers, type QuantizeTarget } from "../recipes/quantizer.ts";
import { findProducts, readersIn } from "../recipes/sites.ts";
import type { Pass } from "./pass.ts";

/** Rounds the operands of the products `target.recipe` selects; see the module doc. */
export function bfpQuantize(graph: Graph, target: QuantizeTarget): Graph {
  const { recipe } = target;
  if (recipe.format === "f32") return graph;
  const sites = findProducts(graph).filter((s) =>
    s.kind === "weighted" || recipe.attentionInt
  );
  if (sites.length === 0) return graph;
  const editor = new GraphEditor(graph);
  const q = new Quantizers(editor, target);
  for (const site of sites) {
    const f = site.node;
    const [a, b] = f.inputs;
    const weighted = site.kind === "weighted";
    const made: Node[] = [];
    const map = new Map<string, string>();
    if (!weighted || recipe.outliers === "none") {
      map.set(a, q.operand(a, "activation", `${f.name}/quantize_a`, made));
    }
    map.set(
      b,
      q.operand(
        b,
        weighted ? "weight" : "activation",
        `${f.name}/quantize_b`,
        made,
      ),
    );
    editor.insertBefore(f, made);
    for (const n of [f, ...site.backward]) editor.redirect(n, map);
    if (site.dy === undefined) continue;
    const readers = readersIn(site, site.dy);
    const grad: Node[] = [];
    const qdy = q.operand(
      site.dy,
      "gradient",
      `${f.name}@grad/quantize_dy`,
      grad,
    );
    editor.insertBefore(readers[0], grad);
    for (const n of readers) editor.redirect(n, new Map([[site.dy, qdy]]));
  }
  return editor.build();
}

/** The `bfp-quantize` pass for one graph of a recipe. */
export function bfpQuantizePass(target: QuantizeTarget): Pass {
  return {
    name: "bfp-quantize",
    summary:
      "round the recipe's MatMul operands (fwd and both bwd GEMMs) to BFP-b or f16",
    requires: [],
    provides: ["quantized-operands"],
    run: (graph) => bfpQuantize(graph, target),
  };
}
