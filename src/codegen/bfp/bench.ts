/**
 * A small throughput benchmark of the BFP kernels, for `bench/` to call:
 * max-abs + map (the per-step cost of re-mapping an activation or weight) and
 * unmap, on data already in the kernel's memory, median of repeated runs.
 * @module
 */

import { BfpKernel } from "./kernel.ts";
import { BFP_MANIFEST } from "./manifest.ts";
import type { BfpParams } from "./params.ts";

/** One measured kernel set. */
export interface BfpBenchRow {
  /** Map kernel name, e.g. `bfp_map_b8_sr_row`. */
  readonly kernel: string;
  /** Tensor rows. */
  readonly rows: number;
  /** Tensor columns. */
  readonly cols: number;
  /** Median ms of max-abs + exponents + map. */
  readonly mapMs: number;
  /** Median ms of unmap. */
  readonly unmapMs: number;
  /** f32 input gigabytes per second through max-abs + map (x read twice). */
  readonly mapGBps: number;
}

/** Options of {@link benchBfp}. */
export interface BfpBenchOptions {
  /** Tensor rows; default 2048 (a BERT-base activation, 2048 × 768). */
  rows?: number;
  /** Tensor columns; default 768. */
  cols?: number;
  /** Timed repetitions per kernel (median taken). */
  repeats?: number;
  /** Kernel sets to run; defaults to the whole manifest. */
  kernels?: readonly BfpParams[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times every requested kernel set; returns one row per set. */
export async function benchBfp(
  options: BfpBenchOptions = {},
): Promise<BfpBenchRow[]> {
  const { rows = 2048, cols = 768, repeats = 15 } = options;
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.7) * (1 + (i % 13));
  const out: BfpBenchRow[] = [];
  for (const params of options.kernels ?? BFP_MANIFEST) {
    const k = await BfpKernel.create(params);
    const l = k.layout(rows, cols);
    new Float32Array(k.memory.buffer, l.xPtr, x.length).set(x);
    const time = (run: () => void) => {
      run();
      const ms: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        run();
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };
    let exponents = k.runMaxAbs(l);
    const mapMs = time(() => {
      exponents = k.runMaxAbs(l);
      k.runMap(l, exponents, { seed: 1 });
    });
    const unmapMs = time(() => k.runUnmap(l, exponents));
    out.push({
      kernel: k.module.names.map,
      rows,
      cols,
      mapMs,
      unmapMs,
      mapGBps: (8 * rows * cols) / (mapMs * 1e6),
    });
  }
  return out;
}
