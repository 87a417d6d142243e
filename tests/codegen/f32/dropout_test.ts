import assert from "node:assert/strict";
import {
  dropoutBwdRef,
  dropoutFwdRef,
  generateDropoutBwd,
  generateDropoutFwd,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { dropoutKey } from "../../../src/ops/dropout_train.ts";
import { arena, seeded, uniform } from "./helpers.ts";

/** Index of the first element that differs bitwise, or -1. */
const firstDifference = (got: ArrayLike<number>, want: ArrayLike<number>) =>
  Array.from(want).findIndex((w, i) => !Object.is(got[i], w));

Deno.test("dropout_fwd draws the reference's mask and scales in f64, from any first element", async () => {
  const a = arena();
  const forward = await generateDropoutFwd().instantiate(a.memory);
  const rand = seeded(21);
  for (const ratio of [0, 0.1, 0.5, 0.999]) {
    for (const n of [...SWEEP_SIZES, 1000]) {
      for (
        const [seed, stream, first] of [[0, 0, 0], [7, 3, 5], [
          2 ** 40 + 9,
          1,
          4093,
        ]]
      ) {
        const key = dropoutKey(seed, stream);
        // Wide exponents and signed zeros: a rounding or sign slip shows.
        const x = uniform(n, rand, -3, 3).map((v, i) =>
          i % 17 === 3 ? -0 : v * 2 ** ((i % 9) - 4)
        );
        const want = dropoutFwdRef(x, first, key, ratio);
        const [xa, y, mask] = [a.f32(x), a.alloc(4 * n), a.alloc(n + 1)];
        new Uint8Array(a.memory.buffer, mask, n + 1).fill(0xa5);
        forward(
          xa,
          y,
          mask,
          n,
          first,
          key | 0,
          Math.ceil(ratio * 2 ** 32) | 0,
          1 - ratio,
        );
        const what = `ratio ${ratio} n ${n} first ${first}`;
        assert.equal(firstDifference(a.readF32(y, n), want.y), -1, what);
        const bytes = new Uint8Array(a.memory.buffer, mask, n + 1);
        assert.equal(
          firstDifference(bytes.subarray(0, n), want.mask),
          -1,
          what,
        );
        assert.equal(bytes[n], 0xa5, `${what}: wrote past the mask`);
      }
    }
  }
});

Deno.test("dropout_fwd keeps about 1 − ratio of the elements", async () => {
  const a = arena();
  const forward = await generateDropoutFwd().instantiate(a.memory);
  const n = 100_000;
  const [x, y, mask] = [
    a.f32(new Float32Array(n).fill(1)),
    a.alloc(4 * n),
    a.alloc(n),
  ];
  forward(
    x,
    y,
    mask,
    n,
    0,
    dropoutKey(3, 2) | 0,
    Math.ceil(0.1 * 2 ** 32),
    0.9,
  );
  const kept = new Uint8Array(a.memory.buffer, mask, n).reduce(
    (s, b) => s + b,
    0,
  );
  assert.ok(Math.abs(kept / n - 0.9) < 0.005, `kept ${kept / n}`);
});

Deno.test("dropout_bwd passes dy·scale where the mask is set, +0 elsewhere", async () => {
  const a = arena();
  const backward = await generateDropoutBwd().instantiate(a.memory);
  const rand = seeded(5);
  for (const n of [...SWEEP_SIZES, 1000]) {
    const dy = uniform(n, rand, -2, 2).map((v, i) => v * 2 ** ((i % 7) - 3));
    const bits = Uint8Array.from({ length: n }, () => rand() < 0.7 ? 1 : 0);
    const scale = 1 / 0.9;
    const [g, m, dx] = [a.f32(dy), a.alloc(n), a.alloc(4 * n)];
    new Uint8Array(a.memory.buffer, m, n).set(bits);
    backward(g, m, dx, n, scale);
    const want = dropoutBwdRef(dy, bits, scale);
    assert.equal(firstDifference(a.readF32(dx, n), want), -1, `n ${n}`);
  }
});
