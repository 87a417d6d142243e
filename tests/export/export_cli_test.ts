/** The `export_onnx` command: what it writes and how it refuses bad usage. */

import assert from "node:assert/strict";
import { join } from "node:path";
import onnx from "onnx-proto";
import { UsageError } from "../../src/cli/args.ts";
import { exportCommand } from "../../src/cli/export_onnx.ts";
import { ExportOpsetError } from "../../src/export/mod.ts";
import { importOnnxFile } from "../../src/frontend/import_model.ts";
import { findModels } from "../models/model_inputs.ts";

const MODEL = findModels().find((m) => m.includes("bert-tiny-random"))!;

/** Runs the command with console.log silenced; returns its exit code. */
async function run(argv: string[]): Promise<number> {
  const log = console.log;
  console.log = () => {};
  try {
    return await exportCommand(argv);
  } finally {
    console.log = log;
  }
}

Deno.test("export_onnx writes a specialised model, or a symbolic one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fixed = join(dir, "fixed.onnx");
    assert.equal(
      await run([
        MODEL,
        "--out",
        fixed,
        "--batch",
        "3",
        "--seq",
        "8",
        "--opset",
        "17",
      ]),
      0,
    );
    const { graph, opset } = importOnnxFile(fixed);
    assert.equal(opset, 17);
    assert.deepEqual(graph.types.get(graph.inputs[0])!.shape, [3, 8]);
    assert.ok(
      !graph.nodes.some((n) => n.op === "Gelu"),
      "Gelu decomposed at 17",
    );

    const symbolic = join(dir, "symbolic.onnx");
    assert.equal(await run([MODEL, `--out=${symbolic}`, "--keep-symbolic"]), 0);
    const proto = onnx.onnx.ModelProto.decode(Deno.readFileSync(symbolic));
    assert.equal(Number(proto.opsetImport![0].version), 20);
    const dims = proto.graph!.input![0].type!.tensorType!.shape!.dim!;
    assert.ok(dims.every((d) => d.dimParam), "input dims stay symbolic");

    const nowhere = join(dir, "missing", "x.onnx");
    await assert.rejects(
      run([MODEL, "--out", nowhere, "--keep-symbolic"]),
      /Cannot write '.*missing\/x.onnx'.*check that its folder exists/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export_onnx refuses bad usage before importing anything", async () => {
  const out = ["--out", "/nonexistent-dir/x.onnx"];
  await assert.rejects(run([MODEL]), UsageError);
  await assert.rejects(run([]), /Expected one model file, got 0/);
  await assert.rejects(run([MODEL, MODEL, ...out]), /got 2/);
  await assert.rejects(
    run([MODEL, ...out, "--keep-symbolic", "--seq", "8"]),
    /Give one or the other/,
  );
  await assert.rejects(run([MODEL, ...out, "--opset", "12"]), ExportOpsetError);
  await assert.rejects(
    run(["missing.onnx", ...out]),
    /'missing.onnx' does not exist/,
  );
});
