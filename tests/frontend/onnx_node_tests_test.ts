import assert from "node:assert/strict";
import {
  listNodeTests,
  type NodeTestResult,
  runNodeTest,
} from "../../src/frontend/node_tests.ts";

const ROOT =
  new URL("../../../shared/onnx-node-tests/", import.meta.url).pathname;
const dirs = [
  ...listNodeTests(ROOT),
  ...listNodeTests(`${ROOT}legacy-onnx-v1.12.0`),
];
const results: NodeTestResult[] = dirs.map(runNodeTest);

Deno.test("the ONNX node test folders are all found", () => {
  // 538 tests of the v1.22.0 set and 101 of the v1.12.0 legacy set.
  assert.equal(dirs.length, 639);
});

Deno.test("every node test the op table claims passes", () => {
  const failed = results.filter((r) => r.status === "failed");
  assert.deepEqual(
    failed.map((r) => `${r.dir.slice(ROOT.length)}: ${r.detail}`),
    [],
  );
  const count = (s: string) => results.filter((r) => r.status === s).length;
  console.log(
    `node tests: ${count("passed")} passed, ${count("unclaimed")} unclaimed, ` +
      `${count("unsupported-dtype")} excluded for unsupported dtypes`,
  );
  // Guards against a loader that silently claims nothing.
  assert.ok(count("passed") >= 430, `only ${count("passed")} passed`);
});

Deno.test("tests are excluded for dtypes by the model's types, not by name", () => {
  const byName = new Map(results.map((r) => [r.dir.slice(ROOT.length), r]));
  const bf16 = byName.get("test_cast_FLOAT_to_BFLOAT16")!;
  assert.equal(bf16.status, "unsupported-dtype");
  assert.equal(bf16.detail, "BFLOAT16");
  assert.equal(byName.get("test_equal_string")!.detail, "STRING");
  assert.equal(byName.get("test_identity_sequence")!.detail, "sequence");
  assert.equal(byName.get("test_cast_FLOAT_to_DOUBLE")!.status, "passed");
});

Deno.test("legacy opset forms are imported and pass", () => {
  const legacy = results.filter((r) => r.dir.includes("legacy-onnx-v1.12.0"));
  for (
    const name of [
      "test_unsqueeze_axis_0",
      "test_reduce_mean_keepdims_random",
      "test_split_variable_parts_1d",
    ]
  ) {
    assert.equal(legacy.find((r) => r.name === name)?.status, "passed", name);
  }
});

Deno.test("training-mode Dropout is unclaimed with its reason", () => {
  const r = results.find((r) => r.name === "test_training_dropout")!;
  assert.equal(r.status, "unclaimed");
  assert.match(r.detail, /training-mode Dropout is random/);
});
