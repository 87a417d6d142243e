import assert from "node:assert/strict";
import { LengthBucketSampler } from "../../runtime/data/bucketing.ts";
import { loadGlueSplit } from "../../runtime/data/read_file.ts";
import { Rng } from "../../runtime/data/rng.ts";
import { bertTokenizer, DATA_DIR } from "./_shared.ts";

Deno.test("xoshiro128** matches the reference C outputs", () => {
  // Blackman & Vigna's xoshiro128starstar.c from state {1, 2, 3, 4}.
  const rng = Rng.fromState([1, 2, 3, 4]);
  const first = Array.from({ length: 8 }, () => rng.nextUint32());
  assert.deepEqual(first, [
    11520,
    0,
    5927040,
    70819200,
    2031721883,
    1637235492,
    1287239034,
    3734860849,
  ]);
  const other = Rng.fromState([0x9e3779b9, 0xdeadbeef, 0x12345678, 0xfedcba98]);
  for (let i = 0; i < 1000; i++) other.nextUint32();
  assert.equal(other.nextUint32(), 3519660388);
});

Deno.test("seeds and streams give reproducible, distinct sequences", () => {
  const draw = (rng: Rng) => Array.from({ length: 4 }, () => rng.nextUint32());
  assert.deepEqual(draw(new Rng(7)), draw(new Rng(7)));
  assert.notDeepEqual(draw(new Rng(7)), draw(new Rng(8)));
  assert.notDeepEqual(draw(new Rng(7, 0)), draw(new Rng(7, 1)));
  const rng = new Rng(3);
  draw(rng);
  const resumed = Rng.fromState(rng.state());
  assert.deepEqual(draw(resumed), draw(rng));
  assert.throws(() => Rng.fromState([0, 0, 0, 0]), /all zero/);
});

Deno.test("nextInt and nextFloat stay in range and cover it evenly", () => {
  const rng = new Rng(11);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) counts[rng.nextInt(6)]++;
  for (const c of counts) {
    assert.ok(Math.abs(c - 10000) < 400, `bucket count ${c}`);
  }
  for (let i = 0; i < 1000; i++) {
    const f = rng.nextFloat();
    assert.ok(f >= 0 && f < 1);
  }
  assert.throws(() => rng.nextInt(0), RangeError);
  assert.deepEqual(
    rng.permutation(50).sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
});

const lengths = Array.from({ length: 1003 }, (_, i) => 5 + ((i * 7919) % 120));

Deno.test("bucketed batches cover every example once and are reproducible", () => {
  const sampler = new LengthBucketSampler(lengths, {
    batchSize: 32,
    seed: 5,
    bucketBatches: 4,
  });
  const epoch0 = sampler.batches(0);
  assert.equal(epoch0.length, sampler.numBatches);
  assert.equal(epoch0.length, Math.ceil(1003 / 32));
  assert.deepEqual(
    epoch0.flat().sort((a, b) => a - b),
    lengths.map((_, i) => i),
  );
  assert.equal(epoch0.filter((b) => b.length !== 32).length, 1);
  assert.deepEqual(sampler.batches(0), epoch0);
  assert.notDeepEqual(sampler.batches(1), epoch0);
  assert.notDeepEqual(
    new LengthBucketSampler(lengths, { batchSize: 32, seed: 6 }).batches(0),
    epoch0,
  );
  const dropped = new LengthBucketSampler(lengths, {
    batchSize: 32,
    seed: 5,
    dropLast: true,
  });
  assert.equal(dropped.batches(0).length, 31);
  assert.equal(dropped.numBatches, 31);
  assert.ok(dropped.batches(0).every((b) => b.length === 32));
  assert.throws(
    () => new LengthBucketSampler(lengths, { batchSize: 0, seed: 1 }),
    /batchSize/,
  );
});

/** Tokens spent on padding when each batch is padded to its longest row. */
function paddingTokens(batches: number[][], lens: readonly number[]): number {
  return batches.reduce((sum, b) => {
    const longest = Math.max(...b.map((i) => lens[i]));
    return sum + b.reduce((s, i) => s + longest - lens[i], 0);
  }, 0);
}

Deno.test("bucketing cuts padding on SST-2 train against random batches", async () => {
  const tok = await bertTokenizer();
  const train = await loadGlueSplit(DATA_DIR, "SST-2", "train");
  const lens = train.map((e) =>
    tok.encode(e.textA, undefined, { maxLength: 128 }).inputIds.length
  );
  const bucketed = new LengthBucketSampler(lens, { batchSize: 32, seed: 1 })
    .batches(0);
  const shuffled = new Rng(1).permutation(lens.length);
  const randomBatches = Array.from(
    { length: Math.ceil(lens.length / 32) },
    (_, i) => shuffled.slice(i * 32, i * 32 + 32),
  );
  const real = lens.reduce((a, b) => a + b, 0);
  const padBucketed = paddingTokens(bucketed, lens);
  const padRandom = paddingTokens(randomBatches, lens);
  console.log(
    `SST-2 train, batch 32: ${real} real tokens; padding ${padRandom} random vs ${padBucketed} bucketed ` +
      `(${((100 * padBucketed) / padRandom).toFixed(1)}%)`,
  );
  assert.ok(
    padBucketed < padRandom / 5,
    `bucketed padding ${padBucketed} vs random ${padRandom}`,
  );
});
