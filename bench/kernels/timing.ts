/**
 * Timing helpers for the kernel benchmark: paired sampling (so two
 * configurations see the same machine noise), sample statistics, GOPS.
 * @module
 */

/** Statistics of repeated timings, in ms. */
export interface Sample {
  /** Median. */
  readonly median: number;
  /** Fastest run. */
  readonly min: number;
  /** Slowest run. */
  readonly max: number;
  /** Runs timed (after one warm-up). */
  readonly runs: number;
}

/** Median, min and max of `times`. */
export function summarise(times: readonly number[]): Sample {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    median: sorted[sorted.length >> 1],
    min: sorted[0],
    max: sorted[sorted.length - 1],
    runs: sorted.length,
  };
}

/**
 * Times each of `runs` round-robin — one call of each per round — after one
 * warm-up call each, for at least `minRounds` and at most `maxRounds` rounds
 * or about `budgetMs`. Interleaving means a burst of load from another
 * process hits all configurations alike instead of one.
 */
export async function sampleInterleaved(
  runs: readonly (() => unknown)[],
  { minRounds = 5, maxRounds = 9, budgetMs = 600 } = {},
): Promise<Sample[]> {
  for (const run of runs) await run();
  const times = runs.map(() => [] as number[]);
  const start = performance.now();
  for (
    let round = 0;
    round < minRounds ||
    (round < maxRounds && performance.now() - start < budgetMs);
    round++
  ) {
    for (const [i, run] of runs.entries()) {
      const t0 = performance.now();
      await run();
      times[i].push(performance.now() - t0);
    }
  }
  return times.map(summarise);
}

/** Giga-operations per second of an m×k×n GEMM (2·m·k·n ops) taking `ms`. */
export function gops(m: number, k: number, n: number, ms: number): number {
  return (2 * m * k * n) / (ms * 1e6);
}
