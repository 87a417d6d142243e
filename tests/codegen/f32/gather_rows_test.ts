import assert from "node:assert/strict";
import {
  gatherRowsRef,
  generateGatherRows,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { arena, seeded } from "./helpers.ts";

Deno.test("gather_rows copies each row from its strided start, any row length and first row, nothing else written", async () => {
  const a = arena();
  const gather = await generateGatherRows().instantiate(a.memory);
  const rand = seeded(17);
  for (const rowBytes of [...SWEEP_SIZES, 256, 255]) {
    // The head split [2,3,5,rowBytes] → [2,5,3,rowBytes]: lead dims
    // (2, 5, 3) read at strides (15, 1, 5) rows of the source.
    const dims: [number, number] = [5, 3];
    const strides: [number, number, number] = [
      15 * rowBytes,
      rowBytes,
      5 * rowBytes,
    ];
    const total = 2 * 5 * 3;
    const src = Uint8Array.from(
      { length: total * rowBytes },
      () => rand() * 256,
    );
    const at = a.alloc(src.length);
    new Uint8Array(a.memory.buffer, at, src.length).set(src);
    for (const [first, rows] of [[0, total], [7, 11], [29, 1], [4, 0]]) {
      const want = gatherRowsRef(src, first, rows, rowBytes, dims, strides);
      // A guard byte after the output must survive.
      const dst = a.alloc(want.length + 1);
      new Uint8Array(a.memory.buffer, dst, want.length + 1).fill(0xa5);
      gather(at, dst, first, rows, rowBytes, ...dims, ...strides);
      const got = new Uint8Array(a.memory.buffer, dst, want.length + 1);
      const what = `rowBytes ${rowBytes} rows ${first}+${rows}`;
      assert.deepEqual(got.subarray(0, want.length), want, what);
      assert.equal(got[want.length], 0xa5, what);
    }
  }
});
