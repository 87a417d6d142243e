/**
 * GLUE evaluation metrics, matching scikit-learn / SciPy on the same inputs,
 * and the table of which metric(s) each GLUE task reports.
 *
 * @module
 */

import type { GlueTaskName } from "./glue_tasks.ts";

/** Names of the metrics GLUE reports. */
export type GlueMetricName = "mcc" | "accuracy" | "f1" | "pearson" | "spearman";

/**
 * The metric(s) GLUE reports per task, in leaderboard order. MNLI's
 * matched and mismatched dev sets are each scored with accuracy.
 */
export const GLUE_METRICS: Readonly<
  Record<GlueTaskName, readonly GlueMetricName[]>
> = {
  "CoLA": ["mcc"],
  "SST-2": ["accuracy"],
  "MRPC": ["accuracy", "f1"],
  "STS-B": ["pearson", "spearman"],
  "QQP": ["accuracy", "f1"],
  "MNLI": ["accuracy"],
  "QNLI": ["accuracy"],
  "RTE": ["accuracy"],
  "WNLI": ["accuracy"],
};

/** Fraction of positions where `predictions[i] === labels[i]`. */
export function accuracy(
  predictions: readonly number[],
  labels: readonly number[],
): number {
  checkLengths(predictions, labels);
  let hits = 0;
  for (let i = 0; i < labels.length; i++) {
    if (predictions[i] === labels[i]) hits++;
  }
  return hits / labels.length;
}

/**
 * Binary F1 with class 1 as the positive class (sklearn `f1_score` default).
 * Returns 0 when there are no true positives, as sklearn does.
 */
export function f1Binary(
  predictions: readonly number[],
  labels: readonly number[],
): number {
  checkLengths(predictions, labels);
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predictions[i] === 1, t = labels[i] === 1;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Matthews correlation coefficient for any number of classes (Gorodkin's
 * R_K, sklearn `matthews_corrcoef`); the usual binary formula for 2 classes.
 * Returns 0 when predictions or labels are all one class, as sklearn does.
 */
export function matthewsCorrelation(
  predictions: readonly number[],
  labels: readonly number[],
): number {
  checkLengths(predictions, labels);
  const predicted = new Map<number, number>();
  const actual = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    predicted.set(predictions[i], (predicted.get(predictions[i]) ?? 0) + 1);
    actual.set(labels[i], (actual.get(labels[i]) ?? 0) + 1);
    if (predictions[i] === labels[i]) correct++;
  }
  const n = labels.length;
  let pt = 0, pp = 0, tt = 0;
  for (const [k, p] of predicted) pt += p * (actual.get(k) ?? 0);
  for (const p of predicted.values()) pp += p * p;
  for (const t of actual.values()) tt += t * t;
  const denominator = Math.sqrt((n * n - pp) * (n * n - tt));
  return denominator === 0 ? 0 : (correct * n - pt) / denominator;
}

/**
 * Pearson correlation coefficient. NaN when either input is constant (SciPy
 * returns NaN there too), since the correlation is undefined.
 */
export function pearson(x: readonly number[], y: readonly number[]): number {
  checkLengths(x, y);
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Spearman rank correlation: Pearson of the ranks, ties given their average rank. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  checkLengths(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * 1-based ranks of `values`, equal values sharing the mean of the ranks they
 * span (SciPy `rankdata(method="average")`).
 */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) {
      end++;
    }
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) ranks[order[i]] = rank;
    start = end;
  }
  return ranks;
}

/**
 * Scores predictions for a GLUE task with the metric(s) {@link GLUE_METRICS}
 * names. Classes are label indices; STS-B takes predicted and gold scores.
 *
 * @returns e.g. `{ accuracy: 0.86, f1: 0.9 }` for MRPC.
 */
export function glueScores(
  task: GlueTaskName,
  predictions: readonly number[],
  labels: readonly number[],
): Partial<Record<GlueMetricName, number>> {
  const compute: Record<
    GlueMetricName,
    (p: readonly number[], l: readonly number[]) => number
  > = {
    mcc: matthewsCorrelation,
    accuracy,
    f1: f1Binary,
    pearson,
    spearman,
  };
  return Object.fromEntries(
    GLUE_METRICS[task].map((m) => [m, compute[m](predictions, labels)]),
  );
}

function checkLengths(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length) {
    throw new RangeError(
      `Metric inputs differ in length (${a.length} predictions, ${b.length} labels); pass one prediction per example.`,
    );
  }
  if (a.length === 0) {
    throw new RangeError(
      "Metric inputs are empty; evaluate at least one example.",
    );
  }
}
