import assert from "node:assert/strict";
import {
  generateLayerNormBwd,
  generateLayerNormFwd,
  LAYER_NORM_MANIFEST,
  layerNormBwdRef,
  layerNormFwdRef,
} from "../../../src/codegen/f32/mod.ts";
import {
  arena,
  dot,
  maxAbsErr,
  maxRelErr,
  maxScaledErr,
  numericGrad,
  seeded,
  uniform,
} from "./helpers.ts";

const EPS = 1e-12;

interface LnCase {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  dy: Float32Array;
  rows: number;
  h: number;
  eps: number;
}

function makeCase(rows: number, h: number, seed: number, eps = EPS): LnCase {
  const rand = seeded(seed);
  return {
    // An offset mean (3) checks that the variance is not E[x²] − μ².
    x: uniform(rows * h, rand, 1, 5),
    gamma: uniform(h, rand, 0.5, 1.5),
    beta: uniform(h, rand, -0.5, 0.5),
    dy: uniform(rows * h, rand),
    rows,
    h,
    eps,
  };
}

/** Runs forward then backward in WASM; dgamma/dbeta start at `acc0`. */
async function runWasm(c: LnCase, acc0 = 0) {
  const a = arena();
  const fwd = await generateLayerNormFwd({ hidden: c.h }).instantiate(a.memory);
  const bwd = await generateLayerNormBwd({ hidden: c.h }).instantiate(a.memory);
  const [x, gamma, beta, dy] = [c.x, c.gamma, c.beta, c.dy].map((v) =>
    a.f32(v)
  );
  const n = c.rows * c.h;
  const y = a.alloc(4 * n);
  const mean = a.alloc(4 * c.rows);
  const rstd = a.alloc(4 * c.rows);
  const dx = a.alloc(4 * n);
  const dgamma = a.f32(new Float32Array(c.h).fill(acc0));
  const dbeta = a.f32(new Float32Array(c.h).fill(acc0));
  fwd(x, gamma, beta, y, mean, rstd, c.rows, c.eps);
  bwd(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, c.rows);
  return {
    y: a.readF32(y, n),
    mean: a.readF32(mean, c.rows),
    rstd: a.readF32(rstd, c.rows),
    dx: a.readF32(dx, n),
    dgamma: a.readF32(dgamma, c.h).map((v) => v - acc0),
    dbeta: a.readF32(dbeta, c.h).map((v) => v - acc0),
  };
}

const EPS32 = 2 ** -24;
const maxAbs = (v: ArrayLike<number>) => Math.max(...Array.from(v, Math.abs));

Deno.test("layer_norm fwd/bwd match the double reference for every manifest width", async () => {
  // Error model: the kernels see x through f32 (relative error ε = 2⁻²⁴), and
  // an error ε|x| in x moves x̂ = (x − μ)·rstd by ε·|x|·rstd. So tolerances
  // are 8ε times cond = max|x|·rstd (≈ 2.6 for wide rows of these inputs,
  // large when a short row has nearly equal entries) times each output's
  // natural scale: |γ| + |β| for y, rstd·|dy·γ| for dx, rows·|dy| for dγ.
  // For the wide rows this is ≈ 1e-6 relative, ~17 ulp of 1.
  for (const { hidden } of LAYER_NORM_MANIFEST) {
    for (const rows of [1, 3]) {
      const c = makeCase(rows, hidden, hidden * 10 + rows);
      const got = await runWasm(c, 0.25);
      const want = layerNormFwdRef(c.x, c.gamma, c.beta, rows, hidden, c.eps);
      const grads = layerNormBwdRef(c.x, c.gamma, c.dy, rows, hidden, c.eps);
      const label = `h=${hidden} rows=${rows}`;
      const rstdMax = Math.max(...want.rstd);
      const tol = 8 * EPS32 * maxAbs(c.x) * rstdMax;
      assert.ok(maxRelErr(got.mean, want.mean) < 1e-6, `mean ${label}`);
      // dβ = 0.25 + Σ_rows dy: an f32 sum of ≤ 4 terms.
      assert.ok(maxScaledErr(got.dbeta, grads.dbeta) < 1e-6, `dbeta ${label}`);
      if (hidden === 1) continue; // the H = 1 test covers σ² = 0
      assert.ok(maxRelErr(got.rstd, want.rstd) < 1e-6, `rstd ${label}`);
      assert.ok(
        maxAbsErr(got.y, want.y) < tol * (maxAbs(c.gamma) + maxAbs(c.beta)),
        `y ${label}`,
      );
      const g = maxAbs(c.dy) * maxAbs(c.gamma);
      assert.ok(maxAbsErr(got.dx, grads.dx) < tol * rstdMax * g, `dx ${label}`);
      assert.ok(
        maxAbsErr(got.dgamma, grads.dgamma) < tol * rows * maxAbs(c.dy),
        `dgamma ${label}`,
      );
    }
  }
});

Deno.test("layer_norm with H = 1: y = β, dx = 0, no NaN", async () => {
  const c = makeCase(2, 1, 7, 1e-5);
  const got = await runWasm(c);
  assert.deepEqual(Array.from(got.y), [c.beta[0], c.beta[0]]);
  assert.deepEqual(Array.from(got.dx), [0, 0]);
  assert.ok(Math.abs(got.rstd[0] - 1 / Math.sqrt(1e-5)) < 1e-2);
});

Deno.test("layer_norm backward passes central differences (dx, dgamma, dbeta)", async () => {
  for (const h of [5, 8]) {
    const rows = 2;
    const c = makeCase(rows, h, 100 + h, 1e-5);
    const x = Float64Array.from(c.x);
    const gamma = Float64Array.from(c.gamma);
    const beta = Float64Array.from(c.beta);
    const loss = () =>
      dot(layerNormFwdRef(x, gamma, beta, rows, h, c.eps).y, c.dy);
    const numeric = {
      dx: numericGrad(x, loss),
      dgamma: numericGrad(gamma, loss),
      dbeta: numericGrad(beta, loss),
    };
    const ref = layerNormBwdRef(x, gamma, c.dy, rows, h, c.eps);
    const wasm = await runWasm(c);
    for (const k of ["dx", "dgamma", "dbeta"] as const) {
      assert.ok(maxScaledErr(ref[k], numeric[k]) < 1e-7, `ref ${k} h=${h}`);
      assert.ok(maxScaledErr(wasm[k], numeric[k]) < 1e-5, `wasm ${k} h=${h}`);
    }
  }
});
