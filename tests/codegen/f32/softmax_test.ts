import assert from "node:assert/strict";
import {
  generateSoftmaxBwd,
  generateSoftmaxFwd,
  softmaxBwdRef,
  softmaxFwdRef,
  type SoftmaxMaskRef,
  SWEEP_SIZES,
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

const HEADS = 2;
const BATCH = 3;

/** attention_mask [BATCH, s]: batch 0 padded after s/2, batch 1 full, batch 2 fully masked. */
function attentionMask(s: number): Int32Array {
  const m = new Int32Array(BATCH * s);
  for (let j = 0; j < s; j++) {
    m[j] = j < Math.max(1, s >> 1) ? 1 : 0;
    m[s + j] = 1;
  }
  return m;
}

/** Runs the masked (when `mask` is given) or plain forward, then the backward. */
async function runWasm(
  x: Float32Array,
  dy: Float32Array,
  rows: number,
  cols: number,
  scale: number,
  mask?: { mask: Int32Array; maskValue: number },
) {
  const a = arena();
  const xp = a.f32(x);
  const dyp = a.f32(dy);
  const y = a.alloc(4 * x.length);
  const dx = a.alloc(4 * x.length);
  if (mask) {
    const fwd = await generateSoftmaxFwd({ masked: true }).instantiate(
      a.memory,
    );
    fwd(
      xp,
      y,
      a.i32(mask.mask),
      rows,
      cols,
      HEADS * cols,
      scale,
      mask.maskValue,
    );
  } else {
    const fwd = await generateSoftmaxFwd({ masked: false }).instantiate(
      a.memory,
    );
    fwd(xp, y, rows, cols, scale);
  }
  const bwd = await generateSoftmaxBwd().instantiate(a.memory);
  bwd(y, dyp, dx, rows, cols, scale);
  return { y: a.readF32(y, x.length), dx: a.readF32(dx, x.length) };
}

Deno.test("softmax fwd/bwd match the double reference, plain and masked, over the size sweep", async () => {
  // y: e^z is within 1 ulp, then a sum over ≤ 130 terms in 4 lanes and one
  // division: a few ulp relative, so 1e-6 (≈ 8 ulp) per element, relative.
  // dx = scale·y⊙(dy − Σdy⊙y), checked on the kernel's own y, cancels when
  // dy ≈ Σdy⊙y, so it is measured against its scale: 2e-6 of max|dx|.
  for (const cols of SWEEP_SIZES) {
    const rows = BATCH * HEADS * cols;
    const rand = seeded(cols);
    const x = uniform(rows * cols, rand, -8, 8);
    const dy = uniform(rows * cols, rand);
    const scale = 0.125;
    const cases: (SoftmaxMaskRef | undefined)[] = [
      undefined,
      {
        mask: attentionMask(cols),
        rowsPerBatch: HEADS * cols,
        maskValue: -10000,
      },
      {
        mask: attentionMask(cols),
        rowsPerBatch: HEADS * cols,
        maskValue: -Infinity,
      },
    ];
    for (const mask of cases) {
      const label = `cols=${cols} mask=${mask?.maskValue ?? "none"}`;
      const got = await runWasm(
        x,
        dy,
        rows,
        cols,
        scale,
        mask && { mask: mask.mask as Int32Array, maskValue: mask.maskValue },
      );
      const y = softmaxFwdRef(x, rows, cols, scale, mask);
      assert.ok(!got.y.some(Number.isNaN), `NaN in y ${label}`);
      // Under −10000 a fully masked row's scores are rounded at 10000 in f32
      // (ulp 2⁻¹⁰), as in PyTorch and ORT: those rows hold to 1e-3 only.
      const exact = mask?.maskValue === -10000
        ? (BATCH - 1) * HEADS * cols * cols
        : y.length;
      assert.ok(
        maxRelErr(got.y.subarray(0, exact), y.subarray(0, exact), 1e-30) < 1e-6,
        `y ${label}`,
      );
      assert.ok(maxRelErr(got.y, y, 1e-30) < 1e-3, `y ${label}`);
      const dx = softmaxBwdRef(got.y, dy, rows, cols, scale);
      assert.ok(maxScaledErr(got.dx, dx) < 2e-6, `dx ${label}`);
    }
  }
});

Deno.test("softmax fully masked rows: -10000 gives the unmasked softmax (to f32 rounding at 10000), -inf gives zeros", async () => {
  const cols = 5;
  const rows = BATCH * HEADS * cols;
  const x = uniform(rows * cols, seeded(9), -3, 3);
  const mask = attentionMask(cols);
  const masked = rows - HEADS * cols; // first row of the fully masked batch
  const soft = await runWasm(x, x, rows, cols, 1, { mask, maskValue: -10000 });
  const plain = await runWasm(x, x, rows, cols, 1);
  assert.ok(
    maxAbsErr(
      soft.y.subarray(masked * cols),
      plain.y.subarray(masked * cols),
    ) < 1e-3 * Math.max(...plain.y),
  );
  const hard = await runWasm(x, x, rows, cols, 1, {
    mask,
    maskValue: -Infinity,
  });
  assert.deepEqual(
    Array.from(hard.y.subarray(masked * cols)),
    new Array(HEADS * cols * cols).fill(0),
  );
  assert.ok(hard.dx.every(Number.isFinite));
  // Padded keys get exactly zero probability under -inf.
  assert.equal(hard.y[cols - 1], 0);
});

Deno.test("softmax backward passes central differences (scaled, masked)", async () => {
  const cols = 7;
  const rows = BATCH * HEADS * cols;
  const rand = seeded(77);
  const x32 = uniform(rows * cols, rand, -2, 2);
  const dy = uniform(rows * cols, rand);
  const scale = 0.3;
  // −∞ keeps the masked scores exact; −10000 is covered by the sweep above.
  const mask = {
    mask: attentionMask(cols),
    rowsPerBatch: HEADS * cols,
    maskValue: -Infinity,
  };
  const x = Float64Array.from(x32);
  const loss = () => dot(softmaxFwdRef(x, rows, cols, scale, mask), dy);
  const numeric = numericGrad(x, loss);
  const ref = softmaxBwdRef(
    softmaxFwdRef(x, rows, cols, scale, mask),
    dy,
    rows,
    cols,
    scale,
  );
  assert.ok(maxScaledErr(ref, numeric) < 1e-7);
  const wasm = await runWasm(x32, dy, rows, cols, scale, mask);
  assert.ok(maxScaledErr(wasm.dx, numeric) < 1e-5);
});
