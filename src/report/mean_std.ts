/**
 * Mean and sample standard deviation, and the `mean±std` cells of the
 * result tables (fine-tuning over seeds, PTQ over calibration seeds).
 *
 * @module
 */

/** Mean and sample standard deviation (0 for fewer than two values). */
export function meanStd(xs: readonly number[]): [number, number] {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length < 2
    ? 0
    : xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return [mean, Math.sqrt(variance)];
}

/**
 * `mean±std` of `xs` × `scale` to one decimal (the mean alone for one
 * value).
 */
export function meanStdCell(xs: readonly number[], scale = 100): string {
  const [mean, std] = meanStd(xs.map((x) => x * scale));
  return xs.length < 2
    ? mean.toFixed(1)
    : `${mean.toFixed(1)}±${std.toFixed(1)}`;
}
