import assert from "node:assert/strict";
import {
  columnSumsRef,
  generateColumnSums,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { arena, seeded, uniform } from "./helpers.ts";

Deno.test("column_sums adds each column in f64, rows in order, as the reference, every strip width", async () => {
  const a = arena();
  const sums = await generateColumnSums().instantiate(a.memory);
  const rand = seeded(29);
  for (const cols of [...SWEEP_SIZES, 16, 17, 35, 256]) {
    for (const rows of [0, 1, 3, 130]) {
      const stride = cols + (cols % 3);
      // ±2⁷⁰ every third row: a sum in another order or in f32 drops
      // different parts and shows in the rounded result.
      const x = uniform(rows * stride, rand, -1, 1).map((v, i) => {
        const r = Math.floor(i / stride);
        return r % 3 === 1 ? 2 ** 70 : r % 3 === 2 ? -(2 ** 70) : v;
      });
      const y = a.alloc(4 * cols + 4);
      new Float32Array(a.memory.buffer, y, cols + 1).fill(7);
      sums(a.f32(x), y, cols, rows, stride);
      const got = a.readF32(y, cols + 1);
      const want = columnSumsRef(x, cols, rows, stride);
      const at = want.findIndex((w, i) => !Object.is(got[i], w));
      assert.equal(at, -1, `cols ${cols} rows ${rows}: column ${at}`);
      assert.equal(got[cols], 7, "wrote past the last column");
    }
  }
  // The same values summed in f32 give other bits: the test can tell.
  const x = Float32Array.of(1, 2 ** 30, -(2 ** 30), 1e-3);
  let f32 = 0;
  for (const v of x) f32 = Math.fround(f32 + v);
  assert.notEqual(f32, columnSumsRef(x, 1, 4, 1)[0]);
});
