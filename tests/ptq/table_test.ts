/**
 * The comparison table's layout (src/ptq/table.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  calibrationTable,
  type CellResult,
  ptqTable,
} from "../../src/ptq/table.ts";
import { meanStd } from "../../src/report/mean_std.ts";

Deno.test("table: mean±std over seeds, paired metrics, average", () => {
  const results: CellResult[] = [
    { task: "SST-2", row: "a", seed: 1, metrics: { accuracy: 0.8 } },
    { task: "SST-2", row: "a", seed: 2, metrics: { accuracy: 0.9 } },
    { task: "MRPC", row: "a", seed: 1, metrics: { accuracy: 0.7, f1: 0.8 } },
    { task: "MRPC", row: "b", seed: 0, metrics: { accuracy: 0.6, f1: 0.7 } },
  ];
  const table = ptqTable(results, [
    { key: "a", label: "A" },
    { key: "b", label: "B" },
  ]);
  const lines = table.trim().split("\n");
  assert.equal(lines[0], "| strategy | SST-2 | MRPC (acc/F1) | avg | seeds |");
  // SST-2 mean 85, MRPC (70 + 80)/2 = 75, average 80.
  assert.equal(lines[2], "| A | 85.0±7.1 | 70.0 / 80.0 | 80.0 | 1–2 |");
  assert.equal(lines[3], "| B | — | 60.0 / 70.0 | — | 0–1 |");
  assert.deepEqual(meanStd([1, 3]), [2, Math.SQRT2]);
});

Deno.test("calibration table: mean MSE and the α range per cell", () => {
  const cal = (alpha: number, mse: number) => ({ alpha, mse });
  const results: CellResult[] = [
    {
      task: "RTE",
      row: "os",
      seed: 1,
      metrics: {},
      calibration: cal(0.9, 1e-3),
    },
    {
      task: "RTE",
      row: "os",
      seed: 2,
      metrics: {},
      calibration: cal(0.95, 3e-3),
    },
    { task: "RTE", row: "fp32", seed: 0, metrics: {} },
  ];
  const lines = calibrationTable(results, [
    { key: "os", label: "OS" },
    { key: "fp32", label: "FP32" },
  ]).trim().split("\n");
  assert.equal(lines.length, 3, "rows without calibration are left out");
  assert.equal(lines[2], "| OS | 2.00e-3 (α 0.90–0.95) |");
});
