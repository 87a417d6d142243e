import assert from "node:assert/strict";
import {
  accuracy,
  averageRanks,
  f1Binary,
  GLUE_METRICS,
  glueScores,
  matthewsCorrelation,
  pearson,
  spearman,
} from "../../runtime/data/metrics.ts";

const close = (actual: number, expected: number) =>
  assert.ok(
    Math.abs(actual - expected) < 1e-12,
    `${actual} is not ${expected}`,
  );

// tp = 2 (positions 0, 4), fp = 1 (1), fn = 1 (3), tn = 1 (2).
const PRED = [1, 1, 0, 0, 1];
const GOLD = [1, 0, 0, 1, 1];

Deno.test("accuracy", () => {
  close(accuracy(PRED, GOLD), 3 / 5);
  close(accuracy([2, 0, 1], [2, 1, 1]), 2 / 3);
});

Deno.test("binary F1 counts class 1 as positive", () => {
  close(f1Binary(PRED, GOLD), (2 * 2) / (2 * 2 + 1 + 1));
  // Swapping classes changes F1: it is not symmetric.
  close(
    f1Binary(PRED.map((p) => 1 - p), GOLD.map((g) => 1 - g)),
    (2 * 1) / (2 * 1 + 1 + 1),
  );
  assert.equal(f1Binary([0, 0], [1, 0]), 0);
});

Deno.test("Matthews correlation: binary, degenerate, multiclass", () => {
  // (tp·tn − fp·fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = (2 − 1) / sqrt(3·3·2·2)
  close(matthewsCorrelation(PRED, GOLD), 1 / 6);
  close(matthewsCorrelation([1, 0, 1], [1, 0, 1]), 1);
  close(matthewsCorrelation([0, 1, 0], [1, 0, 1]), -1);
  assert.equal(matthewsCorrelation([1, 1, 1], [1, 0, 1]), 0);
  // 3 classes: 4 of 6 right, uniform counts: (4·6 − 12) / sqrt((36 − 12)(36 − 12)) = 0.5
  close(matthewsCorrelation([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 1, 2]), 0.5);
});

Deno.test("Pearson and Spearman with tied ranks (values checked with SciPy)", () => {
  const x = [1, 2, 3, 4, 5];
  const y = [2, 4, 5, 4, 5];
  close(pearson(x, y), 6 / Math.sqrt(60)); // 0.7745966692414835
  assert.deepEqual(averageRanks(y), [1, 2.5, 4.5, 2.5, 4.5]);
  close(spearman(x, y), 7 / Math.sqrt(90)); // 0.7378647873726218
  close(spearman(x, [10, 20, 30, 40, 1000]), 1);
  close(pearson([1, 2, 3], [3, 2, 1]), -1);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
});

Deno.test("GLUE metric table and per-task scores", () => {
  assert.deepEqual(GLUE_METRICS, {
    "CoLA": ["mcc"],
    "SST-2": ["accuracy"],
    "MRPC": ["accuracy", "f1"],
    "STS-B": ["pearson", "spearman"],
    "QQP": ["accuracy", "f1"],
    "MNLI": ["accuracy"],
    "QNLI": ["accuracy"],
    "RTE": ["accuracy"],
    "WNLI": ["accuracy"],
  });
  assert.deepEqual(Object.keys(glueScores("MRPC", PRED, GOLD)), [
    "accuracy",
    "f1",
  ]);
  close(glueScores("CoLA", PRED, GOLD).mcc!, 1 / 6);
  const sts = glueScores("STS-B", [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]);
  close(sts.pearson!, 6 / Math.sqrt(60));
  close(sts.spearman!, 7 / Math.sqrt(90));
});

Deno.test("mismatched or empty inputs are rejected", () => {
  assert.throws(
    () => accuracy([1], [1, 0]),
    /differ in length \(1 predictions, 2 labels\)/,
  );
  assert.throws(() => pearson([], []), /empty/);
});
