import assert from "node:assert/strict";
import {
  embeddingBwdRef,
  embeddingFwdRef,
  generateEmbedding,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { arena, dot, numericGrad, seeded, uniform } from "./helpers.ts";

const VOCAB = 11;
// Duplicates (3, 0) and the first and last rows of the table.
const IDS = [3, 0, 10, 3, 7, 0, 3];

async function runWasm(table: Float32Array, dout: Float32Array, width: number) {
  const a = arena();
  const fwd = await generateEmbedding("fwd").instantiate(a.memory);
  const bwd = await generateEmbedding("bwd").instantiate(a.memory);
  const ids = a.i32(IDS);
  const out = a.alloc(4 * IDS.length * width);
  const dtable = a.f32(new Float32Array(VOCAB * width));
  fwd(a.f32(table), ids, out, IDS.length, width, VOCAB);
  bwd(a.f32(dout), ids, dtable, IDS.length, width, VOCAB);
  return {
    out: a.readF32(out, IDS.length * width),
    dtable: a.readF32(dtable, VOCAB * width),
  };
}

Deno.test("embedding gather is exact and scatter-add sums duplicates, over the width sweep", async () => {
  for (const width of SWEEP_SIZES) {
    const rand = seeded(width);
    const table = uniform(VOCAB * width, rand);
    // Dyadic gradients: sums of ≤ 3 of them are exact in f32, so the
    // scatter-add must match the double reference bit for bit.
    const dout = Float32Array.from(
      { length: IDS.length * width },
      () => Math.floor(rand() * 64 - 32) / 16,
    );
    const got = await runWasm(table, dout, width);
    assert.deepEqual(
      Array.from(got.out),
      Array.from(embeddingFwdRef(table, IDS, width)),
    );
    assert.deepEqual(
      Array.from(got.dtable),
      Array.from(embeddingBwdRef(dout, IDS, VOCAB, width)),
      `width=${width}`,
    );
  }
});

Deno.test("embedding backward passes central differences on the table", async () => {
  const width = 5;
  const rand = seeded(1);
  const table32 = uniform(VOCAB * width, rand);
  const dout = uniform(IDS.length * width, rand);
  const table = Float64Array.from(table32);
  const numeric = numericGrad(
    table,
    () => dot(embeddingFwdRef(table, IDS, width), dout),
  );
  const ref = embeddingBwdRef(dout, IDS, VOCAB, width);
  const wasm = (await runWasm(table32, dout, width)).dtable;
  for (let i = 0; i < numeric.length; i++) {
    assert.ok(Math.abs(ref[i] - numeric[i]) < 1e-9);
    assert.ok(Math.abs(wasm[i] - numeric[i]) < 1e-6);
  }
});

Deno.test("embedding ids outside [0, vocab) trap instead of reading out of bounds", async () => {
  const a = arena();
  const fwd = await generateEmbedding("fwd").instantiate(a.memory);
  const bwd = await generateEmbedding("bwd").instantiate(a.memory);
  const table = a.f32(new Float32Array(VOCAB * 4));
  const out = a.alloc(16);
  for (const id of [VOCAB, -1]) {
    const ids = a.i32([id]);
    assert.throws(
      () => fwd(table, ids, out, 1, 4, VOCAB),
      WebAssembly.RuntimeError,
    );
    assert.throws(
      () => bwd(out, ids, table, 1, 4, VOCAB),
      WebAssembly.RuntimeError,
    );
  }
});
