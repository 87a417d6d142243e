import assert from "node:assert/strict";
import { runScript } from "../run_script.ts";
import { tinyCliArgs } from "../finetune/tiny.ts";
import { join } from "node:path";

const CLI = new URL("../../src/cli/finetune.ts", import.meta.url);
const run = (...args: string[]) => runScript(CLI, ...args);

Deno.test("deno task finetune --precision int8-a2 trains, dumps each recipe pass, and refuses bad recipes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const common = [...(await tinyCliArgs(dir)), "--out", join(dir, "run")];
    const ok = await run(
      ...common,
      "--precision",
      "int8-a2",
      "--gamma",
      "5",
      "--rounding",
      "stochastic",
      "--epochs",
      "1",
      "--batch",
      "32",
      "--seq",
      "12",
      "--lr",
      "1e-3",
      "--dump-ir",
      join(dir, "ir"),
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /epoch 1: step 25, train loss/);
    const metrics = JSON.parse(
      await Deno.readTextFile(join(dir, "run", "metrics.json")),
    );
    assert.equal(metrics.precision, "int8-a2");
    assert.equal(metrics.options.recipe.gamma, 5);
    const dumps = [...Deno.readDirSync(join(dir, "ir"))].map((e) => e.name);
    assert.deepEqual(dumps.sort(), [
      "001_bfp-quantize.ir",
      "002_outlier-tile.ir",
    ]);
    const tiled = await Deno.readTextFile(
      join(dir, "ir", "002_outlier-tile.ir"),
    );
    assert.match(
      tiled,
      /= OutlierTile\(\/bert\/encoder\/layer\.0\/intermediate_output_0, step\) \{bits=8, gamma=5\.0, rounding="stochastic", stream=\d+\} @\/bert\/encoder\/layer\.0\/output\/dense\/MatMul\/outlier_tile\n/,
    );
    assert.match(
      tiled,
      /%"bert\.encoder\.layer\.0\.output\.dense\.weight@grad": f32\[32,16\] = Add\("\/bert\/encoder\/layer\.0\/output\/dense\/MatMul@grad\/MatMul_2\/main", "\/bert\/encoder\/layer\.0\/output\/dense\/MatMul@grad\/MatMul_2\/coarse"\)/,
    );
    const zero = await run(...common, "--precision", "int8", "--gamma", "0");
    assert.equal(zero.code, 2);
    assert.equal(
      zero.stderr.split("\n")[0],
      "error: The outlier threshold γ must be a finite number > 0, got 0 (gamma).",
    );
    const bits = await run(...common, "--precision", "int8", "--bits", "1");
    assert.equal(bits.code, 2);
    assert.match(
      bits.stderr,
      /^error: A BFP width must be a whole number of bits from 2 to 16, got 1/,
    );
    const rounding = await run(
      ...common,
      "--precision",
      "int8",
      "--rounding",
      "up",
    );
    assert.equal(rounding.code, 2);
    assert.match(
      rounding.stderr,
      /^error: Rounding must be stochastic or nearest, got 'up'\./,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
