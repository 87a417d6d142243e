/**
 * A small seeded pseudo-random generator, so that shuffles and batch orders
 * are identical in Deno, Node and a browser for the same seed.
 *
 * The generator is xoshiro128** (Blackman & Vigna) seeded through splitmix32;
 * both use only 32-bit integer arithmetic, which every JS engine computes
 * exactly, unlike `Math.random` which cannot be seeded at all.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * const order = rng.permutation(10); // same order on every run with seed 42
 * ```
 *
 * @module
 */

/** Seeded xoshiro128** generator producing uniform 32-bit words. */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * Creates a generator whose whole output stream is fixed by `seed`.
   *
   * @param seed Any integer; only its low 32 bits are used.
   * @param stream Selects an independent stream for the same seed (e.g. the
   * epoch number); only its low 32 bits are used.
   */
  constructor(seed: number, stream = 0) {
    // splitmix32 spreads small seeds (0, 1, 2 ...) over all 128 state bits.
    // Seed and stream feed splitmix sequences with different increments that
    // are xor-ed, so (seed, stream) pairs do not alias as seed + stream would.
    const fromSeed = splitmix32(seed, 0x9e3779b9);
    const fromStream = splitmix32(stream, 0xbb67ae85);
    this.#s0 = (fromSeed() ^ fromStream()) >>> 0;
    this.#s1 = (fromSeed() ^ fromStream()) >>> 0;
    this.#s2 = (fromSeed() ^ fromStream()) >>> 0;
    this.#s3 = (fromSeed() ^ fromStream()) >>> 0;
    // xoshiro never leaves the all-zero state, so it must not start there.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /**
   * Rebuilds a generator from {@link Rng.state}, e.g. to resume a training
   * run from a checkpoint mid-epoch.
   *
   * @throws {RangeError} for the all-zero state, which xoshiro never leaves.
   */
  static fromState(state: readonly [number, number, number, number]): Rng {
    if (state.every((w) => (w >>> 0) === 0)) {
      throw new RangeError(
        "Rng state must not be all zero; pass a state saved from Rng.state().",
      );
    }
    const rng = new Rng(0);
    [rng.#s0, rng.#s1, rng.#s2, rng.#s3] = state.map((w) => w >>> 0);
    return rng;
  }

  /** The 128-bit internal state as four unsigned 32-bit words. */
  state(): [number, number, number, number] {
    return [this.#s0 >>> 0, this.#s1 >>> 0, this.#s2 >>> 0, this.#s3 >>> 0];
  }

  /** Returns the next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Returns a float uniformly distributed in [0, 1), with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Returns an integer uniformly distributed in [0, bound).
   *
   * Uses rejection so that no value is favoured when `bound` does not divide
   * 2^32.
   *
   * @param bound Exclusive upper limit, an integer in [1, 2^32].
   */
  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 4294967296) {
      throw new RangeError(
        `Rng.nextInt needs an integer bound in [1, 2^32], got ${bound}.`,
      );
    }
    const limit = 4294967296 - (4294967296 % bound);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % bound;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** Returns a random permutation of the integers 0 .. n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }
}

function splitmix32(seed: number, increment: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + increment) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
