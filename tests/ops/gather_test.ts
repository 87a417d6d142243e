import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { gatherOps } from "../../src/ops/gather.ts";
import {
  assertOpError,
  assertTensor,
  defIn,
  evaluate,
  infer,
  vt,
} from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const gather = defIn(gatherOps, "Gather");
const gatherElements = defIn(gatherOps, "GatherElements");
const data = tensor("f32", [3, 2], [1, 2, 3, 4, 5, 6]);

Deno.test("Gather picks rows, negative indices from the end", () => {
  const indices = tensor("i64", [2, 2], [0, -1, 1, 2]);
  const [y] = evaluate(gather, [data, indices]);
  assertTensor(y, tensor("f32", [2, 2, 2], [1, 2, 5, 6, 3, 4, 5, 6]));
  const [cols] = evaluate(gather, [data, tensor("i32", [], [1])], {
    axis: attr.int(1),
  });
  assertTensor(cols, tensor("f32", [3], [2, 4, 6]));
  assertOpError(
    () => evaluate(gather, [data, tensor("i64", [1], [3])]),
    /out of range/,
  );
  assertOpError(
    () => evaluate(gather, [data, tensor("i64", [1], [-4])]),
    /out of range/,
  );
});

Deno.test("Gather infers the embedding-lookup shape", () => {
  const types = infer(gather, [vt("f32", [30522, 768]), vt("i64", ["b", "s"])]);
  assert.deepEqual(types[0], vt("f32", ["b", "s", 768]));
  assertOpError(
    () => infer(gather, [vt("f32", [4]), vt("f32", [2])]),
    /must be i64 or i32/,
  );
  assertOpError(
    () =>
      infer(gather, [vt("f32", [4]), vt("i64", [2])], [], {
        axis: attr.int(1),
      }),
    /axis 1 is out of range/,
  );
});

Deno.test("GatherElements reads one element per index", () => {
  const indices = tensor("i64", [2, 2], [0, 0, 1, -1]);
  assertTensor(
    evaluate(gatherElements, [data, indices], { axis: attr.int(1) })[0],
    tensor("f32", [2, 2], [1, 1, 4, 4]),
  );
  const rows = tensor("i32", [1, 2], [2, 0]);
  assertTensor(
    evaluate(gatherElements, [data, rows])[0],
    tensor("f32", [1, 2], [5, 2]),
  );
  assertOpError(
    () => evaluate(gatherElements, [data, tensor("i64", [1, 3], [0, 0, 0])]),
    /exceeds/,
  );
  assertOpError(
    () => infer(gatherElements, [vt("f32", [3, 2]), vt("i64", [2])]),
    /rank/,
  );
  assert.deepEqual(
    infer(gatherElements, [vt("f32", ["b", 2]), vt("i64", ["b", 1])])[0],
    vt("f32", ["b", 1]),
  );
});

registerNodeTests(["Gather", "GatherElements"], {
  untested: ["GatherElements"],
});
