import assert from "node:assert/strict";
import { join } from "node:path";
import { exportOnnx } from "../../src/export/onnx_export.ts";
import { buildBertGraph } from "../../src/models/bert_builder.ts";

const DATA =
  new URL("../../examples/data/tiny-sentiment/", import.meta.url).pathname;
const CLI = new URL("../../src/cli/finetune.ts", import.meta.url).pathname;

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("deno task finetune --precision int8-a2 trains, dumps each recipe pass, and refuses bad recipes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(dir, "tiny.onnx");
    await Deno.writeFile(
      model,
      exportOnnx(buildBertGraph({
        vocab_size: 44,
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 16,
        type_vocab_size: 2,
      }, 2)),
    );
    const common = [
      "--model",
      model,
      "--vocab",
      join(DATA, "vocab.txt"),
      "--data",
      DATA,
      "--task",
      "sst2",
      "--out",
      join(dir, "run"),
    ];
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
