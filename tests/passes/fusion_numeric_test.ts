import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { fuseGelus } from "../../src/passes/fuse_gelu.ts";
import { fuseLayerNorms } from "../../src/passes/fuse_layer_norm.ts";
import { rng } from "../ir/random_graph.ts";
import { GOLDEN_DIR } from "./golden.ts";

function compareFused(
  file: string,
  fuse: typeof fuseGelus,
  fusedOp: string,
  expectedFused: number,
) {
  const graph = parseGraph(Deno.readTextFileSync(`${GOLDEN_DIR}${file}`));
  const fused = fuse(graph);
  assert.equal(
    fused.nodes.filter((n) => n.op === fusedOp).length,
    expectedFused,
  );
  const shape = graph.types.get("x")!.shape as number[];
  const r = rng(7);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tensor(
    "f32",
    shape,
    Array.from({ length: n }, () => (r() - 0.5) * 12),
  );
  const want = execute(graph, { x }).get(graph.outputs[0])!;
  const got = execute(fused, { x }).get(graph.outputs[0])!;
  for (let i = 0; i < n; i++) {
    assert.ok(
      Math.abs(got.data[i] - want.data[i]) <=
        2e-6 * (1 + Math.abs(want.data[i])),
      `element ${i}`,
    );
  }
}

Deno.test("fused Gelu computes what the erf subgraphs computed", () => {
  compareFused("fuse-gelu.before.ir", fuseGelus, "Gelu", 2);
});

Deno.test("fused LayerNorms compute what the torch and TensorFlow decompositions computed", () => {
  compareFused("fuse-layer-norm.before.ir", fuseLayerNorms, "LayerNorm", 2);
});

Deno.test("a LayerNorm-like subgraph over another axis is left alone", () => {
  const text = Deno.readTextFileSync(`${GOLDEN_DIR}fuse-layer-norm.before.ir`)
    .replace("const axes: i64[1] = [-1]", "const axes: i64[1] = [1]");
  const graph = parseGraph(text);
  assert.equal(fuseLayerNorms(graph), graph);
});
