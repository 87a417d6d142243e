import assert from "node:assert/strict";
import { referenceQuantise } from "../../src/codegen/bfp/reference.ts";
import {
  forwardProducts,
  gradWeightProducts,
  type OutlierInput,
  quantiseWeight,
  referenceProducts,
} from "../../src/codegen/outlier/linear.ts";
import {
  referenceSplit,
  referenceTile,
} from "../../src/codegen/outlier/reference.ts";
import { execute } from "../../src/executor/execute.ts";
import { type Graph, makeGraph, makeNode } from "../../src/ir/graph.ts";
import { printGraph } from "../../src/ir/printer.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { runPipeline } from "../../src/passes/pipeline.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import {
  parseRecipe,
  type QuantizeTarget,
  recipePasses,
  trainingTarget,
} from "../../src/recipes/mod.ts";
import {
  randomTensor,
  runTwoLayer,
  twoLayerGraph,
} from "../recipes/_graphs.ts";

const nearest = (name: string): QuantizeTarget => ({
  recipe: parseRecipe(name),
  rounding: "nearest",
});

/** The graph under a recipe's passes. */
function applyRecipe(graph: Graph, target: QuantizeTarget): Graph {
  const out = runPipeline(graph, DEFAULT_OPTIONS, recipePasses(target));
  verify(out, { requireTypes: true, requireStatic: true });
  return out;
}

/** The kernels' treatment of a [rows, cols] activation. */
function treat(method: "split" | "tile", x: Tensor): OutlierInput {
  const [rows, cols] = x.shape;
  const data = x.data as Float32Array;
  return method === "split"
    ? { method, x: referenceSplit(data, rows, cols, { gamma: 5 }) }
    : { method, x: referenceTile(data, rows, cols, { gamma: 5 }) };
}

for (
  const [recipe, method] of [["int8-a1", "split"], ["int8-a2", "tile"]] as const
) {
  Deno.test(`${recipe}: Y and dW are the outlier kernels' reference products, bit for bit`, () => {
    const graph = twoLayerGraph();
    const out = runTwoLayer(applyRecipe(graph, nearest(recipe)));
    const a = out.get("a")!;
    // Layer 2's activation holds outliers (Gelu passes the planted 40 through).
    assert.ok(Array.from(a.data).some((v) => Math.abs(v) > 5));
    const input = treat(method, a);
    const w2 = graph.constants.get("w2")!;
    const qw = quantiseWeight(w2.data as Float32Array, 12, 4);
    const g = out.get("y@grad")!;
    const qg = quantiseWeight(g.data as Float32Array, 6, 4);
    assert.deepEqual(
      out.get("y")!.data,
      referenceProducts(forwardProducts(input, qw)),
    );
    assert.deepEqual(
      out.get("w2@grad")!.data,
      referenceProducts(gradWeightProducts(input, qg)),
    );
  });
}

Deno.test("outlier passes: dX is untouched, gradients are never split, dW reuses the forward streams", () => {
  for (
    const [recipe, side] of [["int8-a1", "outliers"], ["int8-a2", "coarse"]]
  ) {
    const text = printGraph(applyRecipe(twoLayerGraph(), nearest(recipe)));
    const split = recipe === "int8-a1" ? "outlier_split" : "outlier_tile";
    assert.equal(text.match(/= Outlier(Split|Tile)\(/g)!.length, 2, recipe);
    assert.match(
      text,
      new RegExp(
        `%y: f32\\[6,4\\] = Add\\(/l2/MatMul/main, /l2/MatMul/${side}\\) @/l2/MatMul/sum`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `Transpose\\(/l2/MatMul/${split}/${side}\\) \\{perm=\\[1, 0\\]\\} @"/l2/MatMul@grad/Transpose_2/${side}"`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `%"w2@grad": f32\\[12,4\\] = Add\\("/l2/MatMul@grad/MatMul_2/main", "/l2/MatMul@grad/MatMul_2/${side}"\\)`,
      ),
    );
    assert.match(
      text,
      /%"a@grad": f32\[6,12\] = MatMul\("\/l2\/MatMul@grad\/quantize_dy", "\/l2\/MatMul@grad\/Transpose"\)/,
    );
    assert.doesNotMatch(text, /Outlier(Split|Tile)\("/);
  }
});

Deno.test("per-layer γ: the longest matching name prefix sets a layer's threshold", () => {
  const target: QuantizeTarget = {
    recipe: parseRecipe("int8-a2", { gamma: 6, layerGamma: { "/l2/": 4 } }),
    rounding: "nearest",
  };
  const text = printGraph(applyRecipe(twoLayerGraph(), target));
  assert.match(
    text,
    /OutlierTile\(x\) \{bits=8, gamma=6\.0,.*@\/l1\/MatMul\/outlier_tile\n/,
  );
  assert.match(
    text,
    /OutlierTile\(a\) \{bits=8, gamma=4\.0,.*@\/l2\/MatMul\/outlier_tile\n/,
  );
});

Deno.test("int8-a2 with stochastic rounding is reproducible for a step", () => {
  const graph = applyRecipe(
    twoLayerGraph(),
    trainingTarget(parseRecipe("int8-a2")),
  );
  const at = (step: number) => runTwoLayer(graph, step).get("w1@grad")!.data;
  assert.deepEqual(at(5), at(5));
  assert.notDeepEqual(at(5), at(6));
});

/** One product Y = X·W, X[64,128] with a few outlier channels. */
function plantedProduct(): { graph: Graph; x: Tensor; exact: Float64Array } {
  const x = randomTensor([64, 128], 11);
  // Like BERT's channels 308 and 381: two hidden dims, large on a few tokens.
  for (const row of [0, 9, 33, 63]) {
    x.data[row * 128 + 17] = 60 + row;
    x.data[row * 128 + 90] = -(45 + row / 2);
  }
  const w = randomTensor([128, 32], 12, 0.1);
  const graph = makeGraph({
    name: "planted",
    inputs: ["x"],
    outputs: ["y"],
    constants: [["w", w]],
    nodes: [makeNode("MatMul", "/dense/MatMul", ["x", "w"], ["y"])],
    types: [["x", { dtype: "f32", shape: [64, 128] }], ["y", {
      dtype: "f32",
      shape: [64, 32],
    }]],
  });
  const exact = new Float64Array(64 * 32);
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 32; j++) {
      for (let k = 0; k < 128; k++) {
        exact[i * 32 + j] += x.data[i * 128 + k] * w.data[k * 32 + j];
      }
    }
  }
  return { graph, x, exact };
}

/** ‖Y − Y_exact‖ / ‖Y_exact‖ under `recipe` at evaluation rounding. */
function relativeError(recipe: string): number {
  const { graph, x, exact } = plantedProduct();
  const y = execute(applyRecipe(graph, nearest(recipe)), { x }).get("y")!;
  let num = 0;
  let den = 0;
  exact.forEach((e, i) => {
    num += (y.data[i] - e) ** 2;
    den += e * e;
  });
  return Math.sqrt(num / den);
}

Deno.test("planted outliers: untreated int8 errs far more than Approach 1 or 2", () => {
  const errors = Object.fromEntries(
    ["int8", "int8-a1", "int8-a2", "int16", "fp16"].map((
      r,
    ) => [r, relativeError(r)]),
  );
  // Measured: int8 0.112, int8-a1 0.0110, int8-a2 0.0128, int16 4.4e-4, fp16 2.4e-4.
  const seen = JSON.stringify(errors);
  assert.ok(errors.int8 > 0.08 && errors.int8 < 0.15, seen);
  assert.ok(errors["int8-a1"] < 0.016 && errors["int8-a2"] < 0.016, seen);
  assert.ok(
    errors.int8 > 6 * Math.max(errors["int8-a1"], errors["int8-a2"]),
    seen,
  );
  assert.ok(errors.int16 < 1e-3 && errors.fp16 < 5e-4, seen);
  // The reference's own BFP8 of X agrees: its exponent is set by the largest outlier.
  const { x } = plantedProduct();
  const q = referenceQuantise(x.data as Float32Array, 64, 128, {
    bits: 8,
    rounding: "rne",
    granularity: "tensor",
  });
  assert.equal(q.exponents[0], 7);
});
