/**
 * Gamma migration and SmoothQuant through the CLI: `calibrate` records the
 * rewrite it calibrated on, and `compile --infer` repeats it before the
 * quantisers (bert-tiny-random, real SST-2 sentences).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../src/cli/args.ts";
import { calibrateCommand } from "../../src/cli/calibrate.ts";
import { compileCommand } from "../../src/cli/compile.ts";
import { PARAMS_FILE } from "../../src/ptq/params.ts";
import { inferArgs } from "./_bert_tiny.ts";

const MODEL = "../shared/models/bert-tiny-random/model.onnx";

/** Calibrates into `dir/name` with `extra` options; returns the params. */
async function calibrated(dir: string, name: string, extra: string[]) {
  const out = join(dir, name);
  const code = await calibrateCommand([
    "--model",
    MODEL,
    "--task",
    "sst2",
    "--samples",
    "4",
    "--max-seq-length",
    "16",
    "--engine",
    "--out",
    out,
    ...extra,
  ]);
  assert.equal(code, 0);
  return {
    out,
    params: JSON.parse(Deno.readTextFileSync(join(out, PARAMS_FILE))),
  };
}

/** `compile --infer` with the calibration in `cal`; the dump file names. */
async function inferDumps(dir: string, cal: string): Promise<string[]> {
  const dump = join(dir, `ir-${cal.split("/").at(-1)}`);
  const code = await compileCommand(inferArgs(MODEL, cal, dump));
  assert.equal(code, 0);
  return [...Deno.readDirSync(dump)].map((e) => e.name).sort();
}

Deno.test("calibrate --gamma-migration / --smooth-quant: recorded, repeated by compile --infer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const os = await calibrated(dir, "os", [
      "--gamma-migration",
      "--method",
      "token-clipping",
    ]);
    assert.deepEqual(os.params.transforms, { gammaMigration: true });
    const osDumps = await inferDumps(dir, os.out);
    const migrated = osDumps.findIndex((f) =>
      f.endsWith("_gamma-migration.ir")
    );
    assert.ok(migrated >= 0, osDumps.join());
    assert.equal(migrated, osDumps.length - 2);
    assert.match(osDumps.at(-1)!, /_ptq-int\.ir$/);

    const sq = await calibrated(dir, "sq", ["--smooth-quant", "0.5"]);
    const { alpha, maxima } = sq.params.transforms.smoothQuant;
    assert.equal(alpha, 0.5);
    // Every LayerNorm of the 2-layer model: embeddings, then 2 per layer.
    assert.equal(Object.keys(maxima).length, 5);
    for (const m of Object.values(maxima) as number[][]) {
      assert.equal(m.length, 128);
      assert.ok(m.every((x) => x >= 0) && m.some((x) => x > 0));
    }
    const sqDumps = await inferDumps(dir, sq.out);
    assert.ok(sqDumps.some((f) => f.endsWith("_smooth-quant.ir")));

    // A plain calibration adds no rewrite.
    const plain = await calibrated(dir, "plain", []);
    assert.equal(plain.params.transforms, undefined);
    const plainDumps = await inferDumps(dir, plain.out);
    assert.ok(!plainDumps.some((f) => /gamma|smooth/.test(f)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("calibrate refuses a bad SmoothQuant α and both rewrites at once", async () => {
  const base = ["--model", MODEL, "--task", "sst2", "--out", "unused"];
  for (const alpha of ["1.5", "0", "1", "x"]) {
    await assert.rejects(
      () => calibrateCommand([...base, "--smooth-quant", alpha]),
      (e: Error) =>
        e instanceof UsageError &&
        /Option '--smooth-quant' must be in \(0, 1\)/.test(e.message),
    );
  }
  await assert.rejects(
    () =>
      calibrateCommand([...base, "--smooth-quant", "0.5", "--gamma-migration"]),
    (e: Error) => e instanceof UsageError && /choose one/.test(e.message),
  );
});
