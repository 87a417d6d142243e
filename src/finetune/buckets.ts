/**
 * Length bucketing: each batch is padded only to the smallest bucket length
 * that holds its longest row, rather than to the run's full sequence length,
 * and runs on a graph compiled for that length. Padded positions are masked,
 * so in f32 a bucketed run computes what an unbucketed one does, up to
 * float rounding, on far fewer positions (GLUE rows average 11–67 tokens).
 * Under a quantising recipe or with dropout the runs differ more: a block
 * scale sees fewer padding rows, and the random streams (stochastic
 * rounding, dropout masks) follow tensor shapes.
 *
 * @module
 */

import type { TrainingProgram } from "../passes/training_pipeline.ts";

/** Shortest bucket the default list starts at. */
const SHORTEST_DEFAULT = 32;

/**
 * The sorted sequence lengths a run pads batches to: `buckets` (default:
 * the powers of two from 32 below `seq`) and always `seq` itself, so that
 * every row fits. `buckets: []` turns bucketing off.
 */
export function bucketLengths(
  seq: number,
  buckets?: readonly number[],
): number[] {
  const chosen = buckets ?? defaultBuckets(seq);
  for (const length of chosen) {
    if (!Number.isInteger(length) || length < 1 || length > seq) {
      throw new RangeError(
        `A length bucket must be an integer in [1, ${seq}] (the sequence length), got ${length}.`,
      );
    }
  }
  return [...new Set([...chosen, seq])].sort((a, b) => a - b);
}

function defaultBuckets(seq: number): number[] {
  const lengths: number[] = [];
  for (let n = SHORTEST_DEFAULT; n < seq; n *= 2) lengths.push(n);
  return lengths;
}

/** The smallest of the sorted `lengths` that holds a row of `longest` tokens. */
export function bucketFor(lengths: readonly number[], longest: number): number {
  const length = lengths.find((n) => n >= longest);
  if (length === undefined) {
    throw new RangeError(
      `No length bucket holds ${longest} tokens (longest is ${
        lengths[lengths.length - 1]
      }).`,
    );
  }
  return length;
}

/** A run's training programs by sequence length. */
export type Programs = (seq: number) => TrainingProgram;

/** `compile` memoised: each length's program is compiled once, when first asked for. */
export function lazyPrograms(
  compile: (seq: number) => TrainingProgram,
): Programs {
  const compiled = new Map<number, TrainingProgram>();
  return (seq) => {
    let program = compiled.get(seq);
    if (program === undefined) {
      program = compile(seq);
      compiled.set(seq, program);
    }
    return program;
  };
}
