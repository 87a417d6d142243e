/**
 * Length-bucketed batch sampling: batches of examples of similar length, so
 * padding to the batch's longest row wastes little compute, while the batch
 * order stays random and reproducible from a seed.
 *
 * @module
 */

import { Rng } from "./rng.ts";

/** Options of {@link LengthBucketSampler}. */
export interface LengthBucketOptions {
  /** Examples per batch. */
  readonly batchSize: number;
  /** Seed; the same seed, epoch and lengths always give the same batches. */
  readonly seed: number;
  /**
   * Batches per bucket: each bucket of `batchSize * bucketBatches` random
   * examples is sorted by length and cut into batches. Larger buckets mean
   * less padding and less randomness. Default 50.
   */
  readonly bucketBatches?: number;
  /** Drop the last batch when it is smaller than batchSize. Default false. */
  readonly dropLast?: boolean;
}

/**
 * Splits example indices into batches of similar length.
 *
 * Each epoch: shuffle all indices, cut them into buckets, sort each bucket by
 * length (longest first, ties by position), cut buckets into batches, then
 * shuffle the batch order. This is the scheme of torchtext's BucketIterator
 * and HF's `group_by_length`.
 *
 * @example
 * ```ts
 * const sampler = new LengthBucketSampler(lengths, { batchSize: 32, seed: 1 });
 * for (const batch of sampler.batches(epoch)) { ... } // batch: example indices
 * ```
 */
export class LengthBucketSampler {
  readonly #lengths: readonly number[];
  readonly #batchSize: number;
  readonly #seed: number;
  readonly #bucketSize: number;
  readonly #dropLast: boolean;

  /**
   * @param lengths Token count of each example (e.g. its encoding's length).
   * @param options Batch size, seed, bucket size.
   * @throws {RangeError} if batchSize or bucketBatches is not a positive integer.
   */
  constructor(lengths: readonly number[], options: LengthBucketOptions) {
    const bucketBatches = options.bucketBatches ?? 50;
    for (
      const [name, v] of [["batchSize", options.batchSize], [
        "bucketBatches",
        bucketBatches,
      ]] as const
    ) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `LengthBucketSampler ${name} must be a positive integer, got ${v}.`,
        );
      }
    }
    this.#lengths = lengths;
    this.#batchSize = options.batchSize;
    this.#seed = options.seed;
    this.#bucketSize = options.batchSize * bucketBatches;
    this.#dropLast = options.dropLast ?? false;
  }

  /** Number of batches per epoch. */
  get numBatches(): number {
    const batches = this.#lengths.length / this.#batchSize;
    return this.#dropLast ? Math.floor(batches) : Math.ceil(batches);
  }

  /**
   * The batches of one epoch, each a list of example indices. Every example
   * appears exactly once (except those dropped by dropLast).
   *
   * @param epoch Epoch number; each epoch has its own order.
   */
  batches(epoch: number): number[][] {
    const rng = new Rng(this.#seed, epoch);
    const order = rng.permutation(this.#lengths.length);
    const batches: number[][] = [];
    for (let start = 0; start < order.length; start += this.#bucketSize) {
      const bucket = order.slice(start, start + this.#bucketSize);
      // Array.prototype.sort is stable, so equal lengths keep the shuffled order.
      bucket.sort((a, b) => this.#lengths[b] - this.#lengths[a]);
      for (let i = 0; i < bucket.length; i += this.#batchSize) {
        batches.push(bucket.slice(i, i + this.#batchSize));
      }
    }
    // Buckets hold whole batches, so only the last bucket can end in a short
    // batch: at most one batch is dropped.
    const kept = this.#dropLast
      ? batches.filter((b) => b.length === this.#batchSize)
      : batches;
    return rng.shuffle(kept);
  }
}
