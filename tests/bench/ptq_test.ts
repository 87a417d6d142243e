/**
 * `bench/ptq.ts`: bad options end in one clear line and exit code 2, and
 * `--report-only` writes the table from cell files without running any.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runScript } from "../run_script.ts";

const SCRIPT = new URL("../../bench/ptq.ts", import.meta.url);

Deno.test("bench/ptq.ts: bad options are usage errors, not stack traces", async () => {
  for (
    const [args, message] of [
      [["--strategies", "awq"], /Unknown strategy 'awq'/],
      [["--seeds", "0"], /--seeds must be positive integers/],
      [["--runs", "/nonexistent"], /No finished run in '\/nonexistent/],
    ] as const
  ) {
    const r = await runScript(SCRIPT, ...args, "--no-speed");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
});

Deno.test("bench/ptq.ts --report-only: table from the cell files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const runs = join(dir, "runs");
    for (const recipe of ["fp32", "int8-a2"]) {
      await Deno.mkdir(join(runs, `rte-${recipe}-s1`), { recursive: true });
      await Deno.writeTextFile(
        join(runs, `rte-${recipe}-s1`, "metrics.json"),
        JSON.stringify({ history: [{ dev: { accuracy: 0.5 } }] }),
      );
    }
    const out = join(dir, "out");
    await Deno.mkdir(out);
    await Deno.writeTextFile(
      join(out, "rte-os-w6a6-s1.json"),
      JSON.stringify({
        task: "RTE",
        row: "os-w6a6",
        seed: 1,
        metrics: { accuracy: 0.52 },
        calibration: { alpha: 0.9, mse: 1e-3 },
      }),
    );
    const results = join(dir, "RESULTS.md");
    await Deno.writeTextFile(
      results,
      "before\n<!-- ptq-table:start -->\nold\n<!-- ptq-table:end -->\nafter\n",
    );
    const r = await runScript(
      SCRIPT,
      "--tasks",
      "rte",
      "--runs",
      runs,
      "--out",
      out,
      "--results",
      results,
      "--report-only",
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = await Deno.readTextFile(results);
    assert.match(doc, /^before\n<!-- ptq-table:start -->\n/);
    assert.match(doc, /\| OS W6A6 \| 52\.0 \| 52\.0 \| 1 \|/);
    assert.match(doc, /\| int8-a2 fine-tuned, served int8 \| 50\.0 \|/);
    assert.match(doc, /1\.00e-3 \(α 0\.90\)/);
    assert.doesNotMatch(doc, /\nold\n/);
    assert.match(doc, /<!-- ptq-table:end -->\nafter\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
