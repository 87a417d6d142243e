/**
 * A small benchmark of the outlier passes for `bench/` to call: the split and
 * tile passes over X (WASM scans and maps plus the TypeScript gather, copies
 * in and out included) against a plain BFP8 map, on planted BERT-like
 * activations, median of repeated runs.
 * @module
 */

import { BfpKernel } from "../bfp/mod.ts";
import { OutlierQuantiser } from "./kernel.ts";

/** One measured pass. */
export interface OutlierBenchRow {
  /** `bfp8` (untreated), `split` or `tile`. */
  readonly pass: string;
  /** Activation rows. */
  readonly rows: number;
  /** Activation columns. */
  readonly cols: number;
  /** Median milliseconds per call. */
  readonly ms: number;
  /** Outlier columns found (0 for `bfp8`). */
  readonly columns: number;
}

/** Options of {@link benchOutlier}. */
export interface OutlierBenchOptions {
  /** Activation rows; default 2048. */
  rows?: number;
  /** Activation columns; default 768. */
  cols?: number;
  /** Timed repetitions (median taken). */
  repeats?: number;
}

/** Times the three treatments of one activation tensor. */
export async function benchOutlier(
  options: OutlierBenchOptions = {},
): Promise<OutlierBenchRow[]> {
  const { rows = 2048, cols = 768, repeats = 15 } = options;
  // Deterministic data: |x| ≤ 3 everywhere, ×40 on every 50th row of 4 channels.
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = 3 * Math.sin(i * 0.37);
  for (const c of [42, 308, 381, 600].filter((c) => c < cols)) {
    for (let i = 0; i < rows; i += 50) x[i * cols + c] *= 40;
  }
  const bfp8 = await BfpKernel.create({
    bits: 8,
    rounding: "rne",
    granularity: "tensor",
  });
  const q = await OutlierQuantiser.create();
  const time = (run: () => number): { ms: number; columns: number } => {
    const columns = run();
    const ms: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      run();
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    return { ms: ms[Math.floor(ms.length / 2)], columns };
  };
  const passes: [string, () => number][] = [
    ["bfp8", () => (bfp8.quantise(x, rows, cols), 0)],
    ["split", () => q.split(x, rows, cols).columns.length],
    ["tile", () => q.tile(x, rows, cols).columns.length],
  ];
  return passes.map(([pass, run]) => ({ pass, rows, cols, ...time(run) }));
}
