import assert from "node:assert/strict";
import { parseGraph } from "../../src/ir/parser.ts";
import { foldConstants } from "../../src/passes/fold_constants.ts";

Deno.test("fold-constants keeps what is computed from preserved parameters", () => {
  const graph = parseGraph(
    "graph g {\n  input x: f32[2]\n  const w: f32[2] = [1.0, 2.0]\n  const two: f32[] = [2.0]\n" +
      "  %w2: f32[2] = Mul(w, two) @scale\n  %w3: f32[2] = Neg(w2) @neg\n  %y: f32[2] = Add(x, w3) @add\n  output y\n}\n",
  );
  const options = { batch: 1, seq: 1, dims: {} };
  const folded = foldConstants.run(graph, options);
  assert.deepEqual(folded.nodes.map((n) => n.name), ["add"]);
  const kept = foldConstants.run(graph, { ...options, preserve: ["w"] });
  assert.deepEqual(kept.nodes.map((n) => n.name), ["scale", "neg", "add"]);
});
