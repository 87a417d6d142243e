import assert from "node:assert/strict";
import {
  generateGradScale,
  generateSumSquares,
  NORM_BLOCK,
  sumSquaresRef,
} from "../../../src/codegen/f32/mod.ts";
import { arena, seeded, uniform } from "./helpers.ts";

Deno.test("sum_squares: each block's f64 partial exactly as the reference sums it", async () => {
  const a = arena();
  const sumSquares = await generateSumSquares().instantiate(a.memory);
  const rand = seeded(7);
  for (const blocks of [0, 1, 3]) {
    // Wide magnitudes, so the lane order matters to the f64 sum's last bits.
    const x = uniform(blocks * NORM_BLOCK, rand, -1, 1).map((v, i) =>
      v * 2 ** ((i * 7) % 40 - 20)
    );
    const at = a.f32(x);
    const out = a.alloc(8 * Math.max(blocks, 1));
    sumSquares(at, blocks, out);
    const got = new Float64Array(a.memory.buffer, out, blocks);
    for (let b = 0; b < blocks; b++) {
      assert.equal(got[b], sumSquaresRef(x, b * NORM_BLOCK, NORM_BLOCK));
    }
  }
  // A sequential sum differs from the lane order in the last bits: the test can tell.
  const x = uniform(NORM_BLOCK, seeded(3)).map((v, i) => v * 2 ** (i % 30));
  let sequential = 0;
  for (const v of x) sequential += v * v;
  assert.notEqual(sumSquaresRef(x, 0, NORM_BLOCK), sequential);
});

Deno.test("grad_scale: y = x·s rounded to f32, tails included", async () => {
  const a = arena();
  const scale = await generateGradScale().instantiate(a.memory);
  const rand = seeded(11);
  for (const n of [0, 1, 3, 4, 5, 13, 130]) {
    const x = uniform(n, rand, -3, 3);
    const s = Math.fround(0.3712);
    const y = a.alloc(4 * Math.max(n, 1));
    scale(a.f32(x), y, n, s);
    assert.deepEqual(a.readF32(y, n), x.map((v) => Math.fround(v * s)));
  }
});
