/**
 * `deno task compile` as a user runs it: a summary and IR dumps on success;
 * on bad input one clear `error:` line, a non-zero exit, and no stack trace.
 */

import assert from "node:assert/strict";
import { runScript } from "../run_script.ts";
import { join } from "node:path";
import { craftModel, FLOAT } from "../frontend/craft.ts";
import { SHARED } from "../models/model_inputs.ts";

const CLI = new URL("../../src/cli/compile.ts", import.meta.url);
const compile = (...args: string[]) => runScript(CLI, ...args);

async function assertRefused(
  args: string[],
  message: RegExp,
  code = 1,
): Promise<void> {
  const result = await compile(...args);
  assert.equal(result.code, code, result.stderr);
  assert.match(result.stderr, /^error: /);
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace was printed");
}

function relu(
  opset: number,
  extra: Partial<Parameters<typeof craftModel>[0]> = {},
): Uint8Array {
  return craftModel({
    opset,
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"], name: "relu" }],
    inputs: [["x", FLOAT, [2]]],
    outputs: [["y", FLOAT, [2]]],
    ...extra,
  });
}

Deno.test("compile prints a summary and writes one IR dump per pass", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(SHARED, "models/bert-tiny-random/model.onnx");
    const result = await compile(
      model,
      "--batch",
      "2",
      "--seq",
      "16",
      "--dump-ir",
      dir,
      "--verify",
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /inputs +input_ids: i64\[2,16\]/);
    assert.match(result.stdout, /matmuls +\d+: \d+ with a constant weight/);
    assert.match(result.stdout, /compiled .*LayerNorm/);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files.slice(0, 3), [
      "000_import.ir",
      "001_specialize.ir",
      "002_infer-shapes.ir",
    ]);
    assert.equal(files.length, 8);
    assert.match(await Deno.readTextFile(join(dir, files[7])), /= LayerNorm\(/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--dump-kernels writes a listing of every generated kernel", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(SHARED, "models/bert-tiny-random/model.onnx");
    const result = await compile(model, "--dump-kernels", dir);
    assert.equal(result.code, 0, result.stderr);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.match(
      result.stdout,
      new RegExp(`kernels +${files.length} listings`),
    );
    for (
      const family of [
        "gemm_s8s8_",
        "gemm_f32_",
        "bfp_map_b8_",
        "layer_norm_fwd_",
        "adamw",
      ]
    ) {
      assert.ok(
        files.some((f) => f.startsWith(family)),
        `no ${family} kernel listed`,
      );
    }
    const gemm = await Deno.readTextFile(
      join(dir, files.find((f) => f.startsWith("gemm_s8s8_"))!),
    );
    assert.match(gemm, /^\(func \$gemm_s8s8_/);
    assert.match(gemm, /i32x4\.(dot_i16x8_s|relaxed_dot)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--help lists the options", async () => {
  const result = await compile("--help");
  assert.equal(result.code, 0);
  assert.match(result.stdout, /--dump-ir DIR/);
});

Deno.test("bad input gives one clear message and a non-zero exit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const real = await Deno.readFile(
      join(SHARED, "models/bert-tiny-random/model.onnx"),
    );
    const write = async (name: string, bytes: Uint8Array) => {
      await Deno.writeFile(join(dir, name), bytes);
      return join(dir, name);
    };
    await assertRefused([
      await write("half.onnx", real.slice(0, real.length >> 1)),
    ], /truncated/i);
    await assertRefused([
      await write(
        "text.onnx",
        new TextEncoder().encode("hello, not a model\n"),
      ),
    ], /not an ONNX model/i);
    await assertRefused([join(dir, "absent.onnx")], /absent\.onnx/);
    await assertRefused([await write("old.onnx", relu(99))], /opset 99/);
    const unsupported = craftModel({
      opset: 17,
      nodes: [
        { op: "FancyOp", inputs: ["x"], outputs: ["a"], name: "fancy_1" },
        { op: "OtherOp", inputs: ["a"], outputs: ["y"], name: "other_2" },
      ],
      inputs: [["x", FLOAT, [2]]],
      outputs: [["y", FLOAT, [2]]],
    });
    await assertRefused(
      [await write("ops.onnx", unsupported)],
      /fancy_1[\s\S]*other_2/,
    );
    const external = relu(17, {
      nodes: [{ op: "Add", inputs: ["x", "w"], outputs: ["y"], name: "add" }],
      initializers: [{
        name: "w",
        dataType: FLOAT,
        dims: [2],
        dataLocation: 1,
        externalData: [{ key: "location", value: "weights.bin" }],
      }],
    });
    await assertRefused(
      [await write("ext.onnx", external)],
      /'w'[\s\S]*weights\.bin/,
    );
    await assertRefused(
      [await write("ok.onnx", relu(17)), "--batch", "zero"],
      /--batch' must be a positive integer/,
      2,
    );
    await assertRefused(
      [join(dir, "ok.onnx"), "--frobnicate"],
      /Unknown option '--frobnicate'/,
      2,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
