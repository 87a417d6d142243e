/**
 * Outlier statistics of activation tensors (NUMERICS.md §3): the fraction of
 * elements with |x| > γ, the largest |x|, which hidden channels and which
 * tokens carry the outliers, how many would overflow Approach 2's int8 k
 * (|k| > 127, i.e. x ≥ 255γ or x < −255γ), and a log-scale |x| histogram.
 *
 * @module
 */

/** Histogram bin edges of |x|: 4 bins a decade from 1e-4 to 1e4. */
export const HISTOGRAM_EDGES: readonly number[] = Array.from(
  { length: 33 },
  (_, i) => 10 ** (-4 + i / 4),
);

/** Running statistics of one activation tensor over many batches. */
export class OutlierStats {
  /** Elements seen (padding excluded). */
  elements = 0;
  /** Elements with |x| > γ. */
  outliers = 0;
  /** Largest |x| seen. */
  maxAbs = 0;
  /** Elements whose Approach-2 k would not fit in int8. */
  kOverflow = 0;
  /**
   * Padding elements, kept apart: they never reach a result, but a
   * per-tensor BFP exponent sees them all the same.
   */
  paddingElements = 0;
  /** Padding elements with |x| > γ. */
  paddingOutliers = 0;
  /** Largest |x| in padding rows. */
  paddingMaxAbs = 0;
  /** Outlier count per hidden channel (last axis). */
  readonly channels: Float64Array;
  /** Outlier count per token id. */
  readonly tokens = new Map<number, number>();
  /** Element count per {@linkcode HISTOGRAM_EDGES} bin (below the first edge go to bin 0). */
  readonly histogram = new Float64Array(HISTOGRAM_EDGES.length);

  /** Statistics over rows of `width` channels with threshold `gamma`. */
  constructor(readonly width: number, readonly gamma: number) {
    this.channels = new Float64Array(width);
  }

  /**
   * Adds one tensor viewed as rows of `width`; `tokenOf(row)` gives the
   * token id of a row, or `undefined` for padding rows (counted apart).
   */
  add(
    data: ArrayLike<number>,
    tokenOf: (row: number) => number | undefined,
  ): void {
    const rows = data.length / this.width;
    const overflow = 255 * this.gamma;
    const logStep = 4;
    for (let r = 0; r < rows; r++) {
      const token = tokenOf(r);
      if (token === undefined) {
        this.addPadding(data, r);
        continue;
      }
      for (let c = 0; c < this.width; c++) {
        const x = data[r * this.width + c];
        const a = Math.abs(x);
        this.elements++;
        if (a > this.maxAbs) this.maxAbs = a;
        const bin = a <= 0 ? 0 : Math.floor((Math.log10(a) + 4) * logStep);
        this
          .histogram[Math.min(Math.max(bin, 0), HISTOGRAM_EDGES.length - 1)]++;
        if (a <= this.gamma) continue;
        this.outliers++;
        this.channels[c]++;
        this.tokens.set(token, (this.tokens.get(token) ?? 0) + 1);
        if (x >= overflow || x < -overflow) this.kOverflow++;
      }
    }
  }

  private addPadding(data: ArrayLike<number>, row: number): void {
    for (let c = 0; c < this.width; c++) {
      const a = Math.abs(data[row * this.width + c]);
      this.paddingElements++;
      if (a > this.paddingMaxAbs) this.paddingMaxAbs = a;
      if (a > this.gamma) this.paddingOutliers++;
    }
  }

  /** Fraction of elements that are outliers. */
  get fraction(): number {
    return this.elements === 0 ? 0 : this.outliers / this.elements;
  }

  /** The `n` channels with the most outliers, most first. */
  topChannels(n: number): { channel: number; count: number }[] {
    return [...this.channels]
      .map((count, channel) => ({ channel, count }))
      .filter((c) => c.count > 0)
      .sort((a, b) => b.count - a.count || a.channel - b.channel)
      .slice(0, n);
  }

  /** The `n` token ids with the most outliers, most first. */
  topTokens(n: number): { token: number; count: number }[] {
    return [...this.tokens]
      .map(([token, count]) => ({ token, count }))
      .sort((a, b) => b.count - a.count || a.token - b.token)
      .slice(0, n);
  }
}
