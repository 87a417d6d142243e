/**
 * Activation ranges at the quantiser inputs (the linear layers' inputs):
 * max |x| and a high quantile of |x| over real tokens, padding excluded —
 * what a per-tensor quantiser's scale sees, and what Gamma Migration is
 * meant to shrink.
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import { execute } from "../executor/execute.ts";
import type { Graph } from "../ir/graph.ts";
import { findLinearInputs, type LinearInput } from "./linear_inputs.ts";
import { feedsFor } from "./model_feeds.ts";
import { rowTokens } from "./outlier_report.ts";

/** Quantile bins a decade: bin edges 0.23 % apart bound the quantile's error. */
const BINS_PER_DECADE = 1000;
/** Smallest |x| binned apart; anything below counts into bin 0. */
const LOW = 1e-6;
const DECADES = 12;

/**
 * Running max |x| and |x| histogram of one tensor over many batches, on
 * log bins fine enough for quantiles to 0.23 % without keeping the values.
 */
export class RangeStats {
  /** Elements seen. */
  elements = 0;
  /** Largest |x| seen. */
  maxAbs = 0;
  private readonly counts = new Float64Array(BINS_PER_DECADE * DECADES + 1);

  /** Adds the elements of `data` whose row `keep(row)` accepts, rows of `width`. */
  add(
    data: ArrayLike<number>,
    width: number,
    keep: (row: number) => boolean,
  ): void {
    const rows = data.length / width;
    const last = this.counts.length - 1;
    for (let r = 0; r < rows; r++) {
      if (!keep(r)) continue;
      for (let c = r * width; c < (r + 1) * width; c++) {
        const a = Math.abs(data[c]);
        if (a > this.maxAbs) this.maxAbs = a;
        const bin = a <= LOW
          ? 0
          : Math.ceil(Math.log10(a / LOW) * BINS_PER_DECADE);
        this.counts[Math.min(bin, last)]++;
        this.elements++;
      }
    }
  }

  /**
   * The `q`-quantile of |x| (0 < q ≤ 1): the upper edge of the bin where the
   * cumulative count reaches q·n, so never below the true value and at most
   * one bin (0.23 %) above it; capped at max |x|.
   */
  quantile(q: number): number {
    const target = q * this.elements;
    let seen = 0;
    for (let bin = 0; bin < this.counts.length; bin++) {
      seen += this.counts[bin];
      if (seen >= target && seen > 0) {
        return Math.min(this.maxAbs, LOW * 10 ** (bin / BINS_PER_DECADE));
      }
    }
    return this.maxAbs;
  }
}

/** The range of one linear-layer input. */
export interface InputRange extends LinearInput {
  /** Elements measured (padding excluded). */
  readonly elements: number;
  /** Largest |x|. */
  readonly maxAbs: number;
  /** The 99.99th percentile of |x|. */
  readonly p9999: number;
}

/** Compiles a graph for one batch shape. */
export type CompileFor = (batch: number, seq: number) => Graph;

/**
 * Runs the graphs `compile` gives over `batches` in the reference executor
 * and measures every linear-layer input; `onBatch` sees progress.
 */
export function measureRanges(
  compile: CompileFor,
  batches: readonly BatchEncoding[],
  onBatch?: (done: number, tokens: number) => void,
): InputRange[] {
  const compiled = new Map<string, Graph>();
  const stats = new Map<string, RangeStats>();
  let inputs: LinearInput[] = [];
  let tokens = 0;
  batches.forEach((batch, i) => {
    const key = `${batch.batchSize}x${batch.seqLength}`;
    let graph = compiled.get(key);
    if (graph === undefined) {
      graph = compile(batch.batchSize, batch.seqLength);
      compiled.set(key, graph);
      inputs = findLinearInputs(graph);
    }
    const values = execute(
      graph,
      feedsFor(graph, batch),
      inputs.map((x) => x.value),
    );
    for (const input of inputs) {
      const t = values.get(input.value)!;
      const width = t.shape[t.shape.length - 1];
      const token = rowTokens(batch, t.data.length / width);
      let s = stats.get(input.value);
      if (s === undefined) stats.set(input.value, s = new RangeStats());
      s.add(t.data, width, (row) => token(row) !== undefined);
    }
    tokens += batch.attentionMask.reduce((a, b) => a + b, 0);
    onBatch?.(i + 1, tokens);
  });
  return inputs.map((input) => {
    const s = stats.get(input.value)!;
    return {
      ...input,
      elements: s.elements,
      maxAbs: s.maxAbs,
      p9999: s.quantile(0.9999),
    };
  });
}

/** Before/after ranges as a markdown table, one row per input (matched by value name). */
export function formatRangeTable(
  before: readonly InputRange[],
  after: readonly InputRange[],
): string {
  const byValue = new Map(after.map((r) => [r.value, r]));
  const ratio = (a: number, b: number) => (b === 0 ? "–" : (a / b).toFixed(3));
  const rows = before.map((b) => {
    const a = byValue.get(b.value)!;
    const layer = b.layer < 0 ? "–" : String(b.layer);
    return `| ${layer} | ${b.role} | ${b.maxAbs.toFixed(2)} | ${
      a.maxAbs.toFixed(2)
    } | ${ratio(a.maxAbs, b.maxAbs)} | ${b.p9999.toFixed(2)} | ${
      a.p9999.toFixed(2)
    } | ${ratio(a.p9999, b.p9999)} |`;
  });
  return [
    "| layer | input of | max \\|x\\| before | after | after/before | p99.99 \\|x\\| before | after | after/before |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
