/**
 * A tiny BERT compiled into a training artifact by the real CLI, shared by
 * the artifact tests and the cross-environment bundle test.
 *
 * @module
 */

import { join } from "node:path";
import { runScript } from "../run_script.ts";
import { TINY_CONFIG, TINY_DATA, tinyOnnx } from "../finetune/tiny.ts";

/** The settings the tiny artifact is compiled with. */
export const TINY_ARTIFACT = {
  batch: 8,
  seq: 12,
  lr: 5e-3,
  totalSteps: 20,
  seed: 1,
  dropout: 0.1,
} as const;

/** Writes a tiny BERT as `dir/tiny.onnx`; returns its bytes and path. */
export async function writeTinyModel(
  dir: string,
): Promise<{ model: Uint8Array; modelPath: string }> {
  const model = tinyOnnx(2, {
    ...TINY_CONFIG,
    hidden_size: 16,
    intermediate_size: 32,
  });
  const modelPath = join(dir, "tiny.onnx");
  await Deno.writeFile(modelPath, model);
  return { model, modelPath };
}

/**
 * Writes the tiny BERT and compiles it with `deno task compile --train`
 * and {@linkcode TINY_ARTIFACT}'s settings (then `extra` options) into
 * `dir/artifact`.
 */
export async function compileTinyArtifact(
  dir: string,
  ...extra: string[]
): Promise<{ model: Uint8Array; out: string }> {
  const { model, modelPath } = await writeTinyModel(dir);
  const out = join(dir, "artifact");
  const { batch, seq, lr, totalSteps, seed, dropout } = TINY_ARTIFACT;
  const result = await runScript(
    new URL("../../src/cli/compile.ts", import.meta.url),
    modelPath,
    "--train",
    "--batch",
    String(batch),
    "--seq",
    String(seq),
    "--lr",
    String(lr),
    "--total-steps",
    String(totalSteps),
    "--seed",
    String(seed),
    "--dropout",
    String(dropout),
    "--vocab",
    join(TINY_DATA, "vocab.txt"),
    "--out",
    out,
    ...extra,
  );
  if (result.code !== 0) {
    throw new Error(`compile --train failed:\n${result.stderr}`);
  }
  return { model, out };
}
