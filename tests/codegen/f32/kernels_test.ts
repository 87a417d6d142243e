import assert from "node:assert/strict";
import {
  allF32Kernels,
  generateActivation,
  generateLayerNormFwd,
  LAYER_NORM_MANIFEST,
} from "../../../src/codegen/f32/mod.ts";
import { arena } from "./helpers.ts";

Deno.test("every f32 kernel validates, with private and shared memory, under a unique name", () => {
  for (const shared of [false, true]) {
    const kernels = allF32Kernels({ shared });
    for (const k of kernels) {
      assert.ok(WebAssembly.validate(k.bytes), k.name);
      assert.equal(k.shared, shared);
      assert.match(k.listing(), new RegExp(`^\\(func \\$${k.name} `));
    }
    const names = kernels.map((k) => k.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(names.length, 2 * LAYER_NORM_MANIFEST.length + 33);
  }
  assert.deepEqual(
    allF32Kernels().map((k) => k.name).filter((n) =>
      !n.startsWith("layer_norm")
    ),
    [
      "softmax_fwd",
      "softmax_masked_fwd",
      "softmax_bwd",
      "erf",
      "gelu_fwd",
      "gelu_bwd",
      "tanh_fwd",
      "tanh_bwd",
      "embedding_fwd",
      "embedding_bwd",
      "cross_entropy_fwd",
      "cross_entropy_bwd",
      "mse_fwd",
      "mse_bwd",
      "adamw",
      "sum_squares",
      "grad_scale",
      ...["add", "sub", "mul", "div"].flatMap((op) =>
        ["both", "scalar_a", "scalar_b"].map((form) => `binary_${op}_${form}`)
      ),
      "gather_rows",
      "dropout_fwd",
      "dropout_bwd",
      "column_sums",
    ],
  );
});

Deno.test("kernels run on a shared memory when generated for one", async () => {
  const a = arena(true);
  const gelu = await generateActivation("gelu_fwd", { shared: true })
    .instantiate(a.memory);
  const x = a.f32([1, -1, 0]);
  const y = a.alloc(12);
  gelu(x, y, 3);
  assert.ok(Math.abs(a.readF32(y, 3)[0] - 0.8413447) < 1e-6);
  await assert.rejects(generateActivation("gelu_fwd").instantiate(a.memory));
});

Deno.test("the generated code is SIMD: 4-lane loads in the body, splat loads in the tail", () => {
  const listing = generateLayerNormFwd({ hidden: 768 }).listing();
  assert.match(listing, /v128\.load align=4/);
  assert.match(listing, /v128\.load32_splat/);
  assert.match(listing, /f32x4\.mul/);
});

Deno.test("layer_norm widths outside [1, 65536] are rejected with the reason", () => {
  for (const hidden of [0, 1.5, 65537]) {
    assert.throws(
      () => generateLayerNormFwd({ hidden }),
      /hidden size must be an integer/,
    );
  }
});
