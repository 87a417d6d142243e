/**
 * A training artifact compiled by the CLI from a tiny BERT runs in Deno as
 * the in-process fine-tune path does: the same losses step by step, a
 * checkpoint that resumes bit-identically, and predictions that agree with
 * evaluation. The artifact's files are what the manifest says.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Engine } from "../../runtime/engine/mod.ts";
import {
  loadArtifact,
  readFileBytes,
  type TrainingArtifact,
  writeFileAtomic,
} from "../../runtime/artifact/mod.ts";
import { parseManifest } from "../../runtime/artifact/manifest.ts";
import { ARTIFACT_INT8 } from "../../src/artifact/build.ts";
import { hasRelaxedSimd } from "../../src/codegen/gemm/mod.ts";
import { makeBatches } from "../../src/finetune/batches.ts";
import { importOnnx } from "../../src/frontend/import_model.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { scalar } from "../../src/ir/tensor.ts";
import { STEP_INPUT } from "../../src/passes/optimizer.ts";
import { compileTraining } from "../../src/passes/training_pipeline.ts";
import {
  CheckpointError,
  decodeState,
  encodeState,
} from "../../src/training/checkpoint.ts";
import { initialTrainingState } from "../../src/training/state.ts";
import { runScript } from "../run_script.ts";
import { TINY_DATA, tinySet } from "../finetune/tiny.ts";
import {
  compileTinyArtifact,
  TINY_ARTIFACT,
  writeTinyModel,
} from "./tiny_artifact.ts";

const { batch, seq, lr, totalSteps, seed, dropout } = TINY_ARTIFACT;

/** Trains `steps` steps on consecutive batches of `texts` from `start`. */
function train(
  model: TrainingArtifact,
  examples: readonly { textA: string; label?: number }[],
  start: number,
  steps: number,
): number[] {
  const losses: number[] = [];
  for (let s = start; s < start + steps; s++) {
    const rows = examples.slice(s * batch, (s + 1) * batch);
    losses.push(
      model.trainStep({
        texts: rows.map((e) => e.textA),
        labels: rows.map((e) => e.label ?? 0),
      }).loss,
    );
  }
  return losses;
}

Deno.test("a compiled training artifact trains in Deno like the in-process engine", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-artifact-" });
  try {
    const { model, out } = await compileTinyArtifact(dir);
    const { tokenizer, train: examples } = await tinySet(6 * batch, 0);

    await t.step("the files are what the manifest lists", async () => {
      const manifest = parseManifest(
        await Deno.readTextFile(join(out, "manifest.json")),
      );
      assert.equal(manifest.batch, batch);
      assert.deepEqual(manifest.labels, [
        { name: "labels", dtype: "i64", shape: [batch] },
      ]);
      assert.deepEqual(manifest.inputs.map((i) => i.role), [
        "ids",
        "mask",
        "types",
      ]);
      assert.equal(manifest.optimizer.totalSteps, totalSteps);
      assert.equal(manifest.optimizer.lr, lr);
      assert.equal(manifest.dropout, dropout);
      const weights = await Deno.readFile(join(out, manifest.weights.file));
      assert.equal(weights.length, manifest.weights.bytes);
      const last = manifest.parameters.at(-1)!.v;
      assert.ok(last.offset + last.bytes <= weights.length);
      for (const k of manifest.kernels) {
        const bytes = await Deno.readFile(join(out, k.file));
        assert.equal(bytes.length, k.bytes);
        assert.ok(WebAssembly.validate(bytes), k.file);
      }
      assert.ok(manifest.kernels.some((k) => k.name.startsWith("gemm_f32")));
      for (const file of [manifest.graphs.step, manifest.graphs.forward]) {
        const text = await Deno.readTextFile(join(out, file));
        assert.equal(printGraph(parseGraph(text)), text, `${file} round-trips`);
      }
    });

    await t.step("losses equal the in-process engine's", async () => {
      const program = compileTraining(importOnnx(model).graph, {
        batch,
        seq,
        head: "classification:2",
        seed,
        lr,
        totalSteps,
        dropout: { hidden: dropout, attention: dropout },
      });
      // The engine as the fine-tune loop's step runner drives it.
      const state = initialTrainingState(
        program.gradients,
        seed,
        program.params,
      );
      const engine = await Engine.create(program.step, {
        resident: state.tensors,
      });
      const batches = makeBatches(
        program.forward,
        examples,
        examples.map((_, i) => i),
        tokenizer,
        program.labels[0],
        batch,
        seq,
      );
      const expected = batches.map((b, step) => {
        const feeds = new Map(b.feeds).set(STEP_INPUT, scalar("i64", step));
        return engine.run(feeds).get("loss")!.data[0];
      });
      const artifact = await loadArtifact(out);
      const losses = train(artifact, examples, 0, batches.length);
      expected.forEach((want, i) =>
        assert.ok(
          Math.abs(losses[i] - want) <= 1e-6,
          `step ${i + 1}: artifact ${losses[i]}, in-process ${want}`,
        )
      );
      assert.ok(losses.at(-1)! < losses[0], `losses fall: ${losses}`);
      assert.equal(artifact.step, batches.length);
    });

    await t.step("a checkpoint resumes bit-identically", async () => {
      const straight = await loadArtifact(out);
      train(straight, examples, 0, 3);
      const path = join(dir, "checkpoint.bin");
      await writeFileAtomic(path, straight.saveCheckpoint());
      const expected = train(straight, examples, 3, 3);
      const resumed = await loadArtifact(out);
      resumed.loadCheckpoint(await readFileBytes(path));
      assert.equal(resumed.step, 3);
      assert.equal(resumed.seed, seed);
      assert.deepEqual(train(resumed, examples, 3, 3), expected);
      assert.deepEqual(resumed.parameters(), straight.parameters());
      const bad = await readFileBytes(path);
      bad[bad.length - 10] ^= 1;
      assert.throws(() => resumed.loadCheckpoint(bad), CheckpointError);
      const otherSeed = encodeState({
        ...decodeState(await readFileBytes(path)),
        seed: seed + 1,
      });
      assert.throws(
        () => resumed.loadCheckpoint(otherSeed),
        /seed 2, this artifact was compiled with seed 1/,
      );
      await assert.rejects(Deno.stat(`${path}.tmp`), Deno.errors.NotFound);
    });

    await t.step(
      "predict gives probabilities that match evaluate",
      async () => {
        const artifact = await loadArtifact(out);
        train(artifact, examples, 0, 4);
        const text = examples[0].textA;
        const prediction = await artifact.predict(text);
        assert.ok("probabilities" in prediction);
        const { probabilities, logits, label } = prediction;
        const sum = probabilities.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-12, `probabilities sum to ${sum}`);
        const evaluation = await artifact.evaluate([
          { texts: [text, examples[1].textA], labels: [1, 0] },
        ]);
        assert.deepEqual(evaluation.logits[0], logits);
        assert.equal(evaluation.predictions[0], label);
        assert.equal(evaluation.logits.length, 2);
        assert.ok(evaluation.metrics.accuracy >= 0);
        // Training after evaluation moves the prediction: the forward graph
        // follows the trained weights.
        train(artifact, examples, 4, 1);
        const after = await artifact.predict(text);
        assert.ok("logits" in after);
        assert.notDeepEqual(after.logits, logits);
      },
    );

    await t.step(
      "the runtime instantiates the kernels the artifact ships",
      async () => {
        const copy = join(dir, "copy");
        await Deno.mkdir(join(copy, "kernels"), { recursive: true });
        for (const e of Deno.readDirSync(out)) {
          if (e.isFile) {
            await Deno.copyFile(join(out, e.name), join(copy, e.name));
          }
        }
        const manifest = parseManifest(
          await Deno.readTextFile(join(out, "manifest.json")),
        );
        const [dropped, ...kept] = manifest.kernels;
        for (const k of kept) {
          await Deno.copyFile(join(out, k.file), join(copy, k.file));
        }
        const write = (m: object) =>
          Deno.writeTextFile(join(copy, "manifest.json"), JSON.stringify(m));
        await write({ ...manifest, kernels: kept });
        await assert.rejects(
          loadArtifact(copy),
          new RegExp(`ships no kernel '${dropped.name}'`),
        );
        // A shipped module is what runs: a broken one fails the load.
        await Deno.writeFile(join(copy, dropped.file), new Uint8Array([0, 97]));
        await write(manifest);
        await assert.rejects(
          loadArtifact(copy),
          new RegExp(`cannot compile the artifact's kernel '${dropped.name}'`),
        );
      },
    );

    await t.step("bad batches are refused clearly", async () => {
      const artifact = await loadArtifact(out);
      assert.throws(
        () =>
          artifact.trainStep({
            texts: Array(batch + 1).fill("a"),
            labels: Array(batch + 1).fill(0),
          }),
        /1 to 8 texts/,
      );
      assert.throws(
        () => artifact.trainStep({ texts: ["a", "b"], labels: [1] }),
        /one label per text/,
      );
      assert.throws(
        () => artifact.trainStep({ texts: ["a", "b"] }),
        /trainStep needs labels/,
      );
      await assert.rejects(
        loadArtifact(join(dir, "missing")),
        /manifest\.json/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile --train refuses bad options with one clear line", async () => {
  const cli = new URL("../../src/cli/compile.ts", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "tessera-artifact-" });
  try {
    const model = join(dir, "tiny.onnx");
    await Deno.writeFile(model, new Uint8Array()); // never read: refused first
    const vocab = ["--vocab", join(TINY_DATA, "vocab.txt")];
    const cases: [string[], RegExp][] = [
      [["--train"], /--train needs --out DIR/],
      [["--out", dir], /--out only apply with --train/],
      [["--head", "span", ...vocab], /--head, --vocab only apply with --train/],
      [["--train", "--out", dir, "--dump-ir", dir], /--dump-ir cannot be used/],
      [
        ["--train", "--out", dir, "--total-steps", "5", "--epochs", "2"],
        /--total-steps or --epochs, not both/,
      ],
      [
        ["--train", "--out", dir, "--epochs", "2"],
        /--train-examples go together/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runScript(cli, model, ...args);
      assert.equal(result.code, 2, `${args}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const { modelPath: real } = await writeTinyModel(dir);
    for (
      const [args, message] of [
        [["--head", "pairs"], /Unknown head 'pairs'/],
        [["--precision", "int7"], /int7/],
        [["--recompute", "gelu,ln"], /Unknown recompute target 'ln'/],
      ] as [string[], RegExp][]
    ) {
      const result = await runScript(
        cli,
        real,
        ...vocab,
        "--train",
        "--out",
        join(dir, "x"),
        ...args,
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--head regression gives an artifact that predicts a value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-artifact-" });
  try {
    const { out } = await compileTinyArtifact(dir, "--head", "regression");
    const artifact = await loadArtifact(out);
    assert.deepEqual(artifact.manifest.labels, [
      { name: "labels", dtype: "f32", shape: [batch] },
    ]);
    const texts = ["the story is brilliant", "the cast is really dull"];
    const first = artifact.trainStep({ texts, labels: [4.5, 0.5] }).loss;
    for (let i = 0; i < 5; i++) {
      artifact.trainStep({ texts, labels: [4.5, 0.5] });
    }
    assert.ok(artifact.trainStep({ texts, labels: [4.5, 0.5] }).loss < first);
    const prediction = await artifact.predict(texts[0]);
    assert.ok("value" in prediction);
    const evaluation = await artifact.evaluate([{ texts, labels: [4.5, 0.5] }]);
    assert.equal(evaluation.predictions[0], prediction.value);
    assert.deepEqual(Object.keys(evaluation.metrics), ["pearson", "spearman"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an int8-a2 artifact ships the portable int8 GEMM, whatever the compiling engine runs fastest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-artifact-" });
  try {
    const { out } = await compileTinyArtifact(dir, "--precision", "int8-a2");
    const artifact = await loadArtifact(out);
    const { manifest } = artifact;
    assert.equal(manifest.int8, ARTIFACT_INT8);
    assert.equal(ARTIFACT_INT8, hasRelaxedSimd() ? "relaxed" : "dot16");
    const int8 = manifest.kernels.filter((k) => k.name.startsWith("gemm_s8s8"));
    assert.ok(int8.length > 0, "no int8 GEMM shipped");
    for (const k of int8) {
      assert.match(k.name, new RegExp(`_${ARTIFACT_INT8}(_i32out)?$`));
    }
    const texts = ["the story is brilliant", "the cast is really dull"];
    assert.ok(
      Number.isFinite(artifact.trainStep({ texts, labels: [1, 0] }).loss),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--recompute gives an artifact whose steps equal the plain one's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-artifact-" });
  try {
    for (const sub of ["plain", "lean"]) await Deno.mkdir(join(dir, sub));
    const plain = await compileTinyArtifact(join(dir, "plain"));
    const lean = await compileTinyArtifact(
      join(dir, "lean"),
      "--recompute",
      "gelu,softmax",
    );
    const step = await Deno.readTextFile(join(lean.out, "step.ir"));
    assert.match(step, /@grad\/recompute/);
    const [a, b] = await Promise.all([plain.out, lean.out].map(loadArtifact));
    const texts = ["the story is brilliant", "the cast is really dull"];
    for (let i = 0; i < 3; i++) {
      assert.equal(
        b.trainStep({ texts, labels: [1, 0] }).loss,
        a.trainStep({ texts, labels: [1, 0] }).loss,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
