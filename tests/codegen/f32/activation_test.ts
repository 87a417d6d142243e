import assert from "node:assert/strict";
import {
  geluGradRef,
  geluRef,
  generateActivation,
  SWEEP_SIZES,
  tanhGradRef,
} from "../../../src/codegen/f32/mod.ts";
import {
  arena,
  maxAbsErr,
  maxRelErr,
  numericGrad,
  seeded,
  uniform,
} from "./helpers.ts";

type Kernel = "erf" | "gelu_fwd" | "tanh_fwd" | "gelu_bwd" | "tanh_bwd";

/** Runs a kernel; backward kernels take `saved` (x or y) and dy. */
async function run(
  kernel: Kernel,
  input: ArrayLike<number>,
  dy?: ArrayLike<number>,
): Promise<Float32Array> {
  const a = arena();
  const n = input.length;
  const x = a.f32(input);
  const out = a.alloc(4 * n);
  if (kernel === "gelu_bwd" || kernel === "tanh_bwd") {
    const k = await generateActivation(kernel).instantiate(a.memory);
    k(x, a.f32(dy ?? []), out, n);
  } else {
    const k = await generateActivation(kernel).instantiate(a.memory);
    k(x, out, n);
  }
  return a.readF32(out, n);
}

Deno.test("gelu and tanh, forward and backward, match the double reference over the size sweep", async () => {
  // GELU: Φ carries ≤ 5.4e-7 relative error (math.ts), x·Φ adds one rounding;
  // 1e-6 relative holds down to x = −5 (below, the double reference's own
  // 1 + erf cancels). gelu′ = Φ + xφ crosses zero near x = −0.75, so it is
  // checked absolutely: 1e-6 on values of magnitude ≤ 1.13. tanh: ≤ 1.5 ulp.
  for (const n of SWEEP_SIZES) {
    const rand = seeded(n);
    const x = uniform(n, rand, -5, 5);
    const dy = uniform(n, rand);
    const gelu = await run("gelu_fwd", x);
    assert.ok(
      maxRelErr(gelu, Array.from(x, geluRef), 1e-30) < 1e-6,
      `gelu n=${n}`,
    );
    const dgelu = await run("gelu_bwd", x, dy);
    const dgeluRef = Array.from(x, (v, i) => geluGradRef(v) * dy[i]);
    assert.ok(maxAbsErr(dgelu, dgeluRef) < 1e-6, `gelu_bwd n=${n}`);
    const tanh = await run("tanh_fwd", x);
    assert.ok(maxRelErr(tanh, Array.from(x, Math.tanh)) < 2e-7, `tanh n=${n}`);
    const dtanh = await run("tanh_bwd", tanh, dy);
    const dtanhRef = Array.from(tanh, (y, i) => tanhGradRef(y) * dy[i]);
    assert.ok(maxAbsErr(dtanh, dtanhRef) < 2e-7, `tanh_bwd n=${n}`);
  }
});

Deno.test("tail elements get bit-identical results to body elements", async () => {
  const values = uniform(4, seeded(3), -4, 4);
  const x = Float32Array.from({ length: 7 }, (_, i) => values[i % 4]);
  for (const kernel of ["erf", "gelu_fwd", "tanh_fwd"] as const) {
    const y = await run(kernel, x);
    assert.deepEqual(
      Array.from(y.subarray(4)),
      Array.from(y.subarray(0, 3)),
      kernel,
    );
  }
});

Deno.test("gelu and tanh edge values: 0, ±large, no NaN", async () => {
  const x = [0, -0, 20, -20, 1e-30, -1e-30, 100];
  const gelu = await run("gelu_fwd", x);
  assert.deepEqual(Array.from(gelu).slice(0, 5), [
    0,
    -0,
    20,
    -0,
    Math.fround(1e-30 * 0.5),
  ]);
  const tanh = await run("tanh_fwd", x);
  assert.deepEqual(Array.from(tanh).slice(2, 4), [1, -1]);
  const dgelu = await run("gelu_bwd", x, x.map(() => 1));
  assert.deepEqual(Array.from(dgelu).slice(0, 4), [0.5, 0.5, 1, 0]);
});

Deno.test("gelu and tanh backward pass central differences", async () => {
  const x32 = uniform(37, seeded(5), -4, 4);
  const x = Float64Array.from(x32);
  const dy = uniform(37, seeded(6));
  for (const [name, fwd] of [["gelu", geluRef], ["tanh", Math.tanh]] as const) {
    // Elementwise, so one loss Σ f(x)⊙dy gives every partial derivative.
    const loss = () => x.reduce((s, v, i) => s + fwd(v) * dy[i], 0);
    const numeric = numericGrad(x, loss);
    const ref = name === "gelu"
      ? Array.from(x, (v, i) => geluGradRef(v) * dy[i])
      : Array.from(x, (v, i) => tanhGradRef(Math.tanh(v)) * dy[i]);
    assert.ok(maxAbsErr(ref, numeric) < 1e-9, `${name} reference`);
    const wasm = name === "gelu"
      ? await run("gelu_bwd", x32, dy)
      : await run("tanh_bwd", await run("tanh_fwd", x32), dy);
    assert.ok(maxAbsErr(wasm, numeric) < 1e-6, `${name} wasm`);
  }
});
