/**
 * The outlier passes over X in WASM: one memory shared by four BFP modules —
 * per-column max|x| (which finds the outlier columns and the |k| range),
 * the `split` and `tile` prologue modules (max-abs + BFP8 map of the inlier
 * or remainder stream, never materialised), and BFP12 for the gathered
 * Approach 1 outliers. Gathering the few outlier columns stays in
 * TypeScript: it touches rows·|C| elements, |C| ≪ cols.
 *
 * Results equal `referenceSplit` / `referenceTile` bit for bit.
 * @module
 */

import {
  allocateBfpLayout,
  BfpKernel,
  type BfpLayout,
  type BfpRounding,
  type BfpTensor,
} from "../bfp/mod.ts";
import { checkGamma, DEFAULT_GAMMA } from "./params.ts";
import { splitPrologue, tilePrologue } from "./prologue.ts";
import {
  checkTileRange,
  gatherColumns,
  gatherK,
  type OutlierMapOptions,
  type SplitTensor,
  type TileTensor,
} from "./reference.ts";

/** Runs the split and tile passes for one γ and rounding mode. */
export class OutlierQuantiser {
  private constructor(
    readonly gamma: number,
    readonly rounding: BfpRounding,
    readonly memory: WebAssembly.Memory,
    readonly columnMax: BfpKernel,
    readonly split8: BfpKernel,
    readonly tile8: BfpKernel,
    readonly outlier12: BfpKernel,
  ) {}

  /** Generates and instantiates the passes (γ default 5, rounding default `rne`). */
  static async create(
    options: { gamma?: number; rounding?: BfpRounding } = {},
  ): Promise<OutlierQuantiser> {
    const gamma = options.gamma ?? DEFAULT_GAMMA;
    const rounding = options.rounding ?? "rne";
    checkGamma(gamma);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768 });
    const tensor8 = { bits: 8, rounding, granularity: "tensor" } as const;
    const [columnMax, split8, tile8, outlier12] = await Promise.all([
      BfpKernel.create({ ...tensor8, granularity: "col" }, { memory }),
      BfpKernel.create(tensor8, { memory, prologue: splitPrologue(gamma) }),
      BfpKernel.create(tensor8, { memory, prologue: tilePrologue(gamma) }),
      BfpKernel.create({ ...tensor8, bits: 12 }, { memory }),
    ]);
    return new OutlierQuantiser(
      gamma,
      rounding,
      memory,
      columnMax,
      split8,
      tile8,
      outlier12,
    );
  }

  /** Approach 1: BFP8 inliers plus column-gathered BFP12 outliers. */
  split(
    x: Float32Array,
    rows: number,
    cols: number,
    options: Pick<OutlierMapOptions, "seed"> = {},
  ): SplitTensor {
    const { layout, columnMax } = this.#scan(x, rows, cols);
    const inliers = this.#mapStream(this.split8, layout, options.seed);
    const columns = columnsWhere(columnMax, (m) => m > this.gamma);
    const gamma = this.gamma;
    const xOut = gatherColumns(
      new Float32Array(rows * columns.length),
      x,
      cols,
      columns,
      (v) => Math.abs(v) > gamma ? v : 0,
    );
    const outLayout = this.#allocate(rows, columns.length, 2, layout.end);
    new Float32Array(this.memory.buffer, outLayout.xPtr, xOut.length).set(xOut);
    const outliers = this.#mapStream(
      this.outlier12,
      outLayout,
      options.seed,
      rows * cols,
    );
    return { inliers, columns, outliers };
  }

  /** Approach 2: BFP8 of the remainder plus column-gathered k. */
  tile(
    x: Float32Array,
    rows: number,
    cols: number,
    options: Pick<OutlierMapOptions, "seed"> = {},
  ): TileTensor {
    const { layout, columnMax } = this.#scan(x, rows, cols);
    checkTileRange(columnMax.reduce((a, b) => Math.max(a, b), 0), this.gamma);
    const a = this.#mapStream(this.tile8, layout, options.seed);
    // |x| ≥ γ flags every column with k ≠ 0 plus those whose only |x| ≥ γ
    // is −γ (k = 0); dropping all-zero columns leaves exactly the k ≠ 0 set.
    const candidates = columnsWhere(columnMax, (m) => m >= this.gamma);
    const wide = gatherK(x, rows, cols, candidates, this.gamma);
    const keep = candidates.filter((_, c) => {
      for (let i = 0; i < rows; i++) {
        if (wide.k[i * candidates.length + c] !== 0) return true;
      }
      return false;
    });
    const k = keep.length === candidates.length
      ? wide.k
      : gatherK(x, rows, cols, keep, this.gamma).k;
    return {
      a,
      columns: keep,
      k,
      wideCount: wide.wideCount,
      gamma: this.gamma,
    };
  }

  /** Copies x in, runs the per-column max-abs (refusing NaN / infinity). */
  #scan(x: Float32Array, rows: number, cols: number) {
    if (x.length !== rows * cols) {
      throw new RangeError(
        `A ${rows}×${cols} activation needs ${
          rows * cols
        } values, got ${x.length}.`,
      );
    }
    const layout = this.#allocate(rows, cols, 1, 0);
    new Float32Array(this.memory.buffer, layout.xPtr, x.length).set(x);
    this.columnMax.runMaxAbs(layout);
    const columnMax = new Float32Array(this.memory.buffer, layout.maxPtr, cols)
      .slice();
    return { layout, columnMax };
  }

  #mapStream(
    kernel: BfpKernel,
    layout: BfpLayout,
    seed: number | undefined,
    counterBase = 0,
  ): BfpTensor {
    const exponents = kernel.runMaxAbs(layout);
    kernel.runMap(layout, exponents, { seed, counterBase });
    const n = layout.rows * layout.cols;
    const q = kernel.params.bits === 8
      ? new Int8Array(this.memory.buffer, layout.qPtr, n).slice()
      : new Int16Array(this.memory.buffer, layout.qPtr, n).slice();
    return {
      params: kernel.params,
      rows: layout.rows,
      cols: layout.cols,
      q,
      exponents,
    };
  }

  /** A layout from byte `base`: x, q (`bytes` each), maxima and scales for `cols` groups. */
  #allocate(rows: number, cols: number, bytes: number, base: number) {
    return allocateBfpLayout(this.memory, {
      rows,
      cols,
      elementBytes: bytes,
      groups: Math.max(cols, 1),
    }, base);
  }
}

function columnsWhere(
  columnMax: Float32Array,
  test: (m: number) => boolean,
): Int32Array {
  const out: number[] = [];
  columnMax.forEach((m, j) => {
    if (test(m)) out.push(j);
  });
  return Int32Array.from(out);
}
