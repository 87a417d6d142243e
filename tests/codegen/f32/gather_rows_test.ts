import assert from "node:assert/strict";
import {
  gatherRowsRef,
  generateGatherRows,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { arena, seeded } from "./helpers.ts";

Deno.test("gather_rows copies each row from its table offset, any row length, nothing else written", async () => {
  const a = arena();
  const gather = await generateGatherRows().instantiate(a.memory);
  const rand = seeded(17);
  for (const rowBytes of [...SWEEP_SIZES, 256, 255]) {
    const srcBytes = 4096 + rowBytes;
    const src = Uint8Array.from({ length: srcBytes }, () => rand() * 256);
    // Unaligned, repeated and descending offsets.
    const table = Int32Array.from(
      { length: 13 },
      (_, r) => r === 5 ? 3 : Math.floor(rand() * (srcBytes - rowBytes)),
    );
    const want = gatherRowsRef(src, table, rowBytes);
    const srcAt = a.alloc(srcBytes), tableAt = a.alloc(4 * table.length);
    new Uint8Array(a.memory.buffer, srcAt, srcBytes).set(src);
    new Int32Array(a.memory.buffer, tableAt, table.length).set(table);
    // A guard byte after the output must survive.
    const dst = a.alloc(want.length + 1);
    new Uint8Array(a.memory.buffer, dst, want.length + 1).fill(0xa5);
    gather(srcAt, dst, tableAt, table.length, rowBytes);
    const got = new Uint8Array(a.memory.buffer, dst, want.length + 1);
    assert.deepEqual(
      got.subarray(0, want.length),
      want,
      `rowBytes ${rowBytes}`,
    );
    assert.equal(got[want.length], 0xa5);
  }
});
