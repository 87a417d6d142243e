/**
 * `deno task compile MODEL --train --out DIR`: compiles the training step
 * of an encoder with a task head and writes a training artifact (the
 * layout is in `runtime/artifact/manifest.ts`) that `loadArtifact` runs in
 * Deno, Node and browsers.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { buildArtifact } from "../artifact/build.ts";
import { writeArtifact } from "../artifact/write.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import { HeadError, parseHead } from "../passes/attach_head.ts";
import { compileTraining } from "../passes/training_pipeline.ts";
import { parseRecipe, RECIPE_NAMES, RecipeError } from "../recipes/mod.ts";
import { type OptionSpec, type ParsedArgs, UsageError } from "./args.ts";
import {
  optimizerOptionSpecs,
  optimizerSettings,
} from "./optimizer_options.ts";
import { PRECISION_OPTIONS, recomputeOption } from "./precision_options.ts";

/** Steps of the learning-rate schedule when neither length option is given. */
export const DEFAULT_TOTAL_STEPS = 1000;

/** The options only `--train` takes. */
export const TRAIN_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  train: {
    kind: "flag",
    help: "compile the training step and write an artifact to --out",
  },
  out: { kind: "string", value: "DIR", help: "the artifact's folder" },
  head: {
    kind: "string",
    value: "HEAD",
    help: "classification:N, regression or span (default classification:2)",
  },
  precision: {
    kind: "string",
    value: "NAME",
    help: `precision recipe: ${RECIPE_NAMES.join(", ")} (default fp32)`,
  },
  "total-steps": {
    kind: "int",
    value: "N",
    help: `steps of the linear schedule (default ${DEFAULT_TOTAL_STEPS})`,
  },
  epochs: {
    kind: "int",
    value: "N",
    help: "schedule length in epochs, with --train-examples",
  },
  "train-examples": {
    kind: "int",
    value: "N",
    help: "training-set size, for --epochs",
  },
  recompute: PRECISION_OPTIONS.recompute,
  ...optimizerOptionSpecs(2e-5),
  vocab: {
    kind: "string",
    value: "FILE",
    help: "vocab.txt (default: beside the model)",
  },
};

/** Options of the plain compile that make no sense with `--train`. */
const FORWARD_ONLY = ["dim", "dump-ir", "dump-kernels", "verify"];

/** Refuses `--train` options without `--train`, and forward-only ones with it. */
export function checkTrainOptions({ options }: ParsedArgs): boolean {
  const train = options.get("train") === true;
  const given = (names: readonly string[]) =>
    names.filter((n) => options.has(n)).map((n) => `--${n}`);
  if (!train) {
    const stray = given(Object.keys(TRAIN_OPTIONS));
    if (stray.length > 0) {
      throw new UsageError(
        `${
          stray.join(", ")
        } only apply with --train (which writes a training artifact).`,
      );
    }
    return false;
  }
  const stray = given(FORWARD_ONLY);
  if (stray.length > 0) {
    throw new UsageError(
      `${
        stray.join(", ")
      } cannot be used with --train (the artifact holds step.ir and forward.ir).`,
    );
  }
  if (!options.has("out")) {
    throw new UsageError("--train needs --out DIR, the artifact's folder.");
  }
  return true;
}

/** The schedule length the options give. */
function totalSteps(args: ParsedArgs, batch: number): number {
  const get = (n: string) => args.options.get(n) as number | undefined;
  const [total, epochs, examples] = [
    get("total-steps"),
    get("epochs"),
    get("train-examples"),
  ];
  if (total !== undefined && epochs !== undefined) {
    throw new UsageError("Give --total-steps or --epochs, not both.");
  }
  if ((epochs === undefined) !== (examples === undefined)) {
    throw new UsageError(
      "--epochs and --train-examples go together: steps = epochs × ⌈examples / batch⌉.",
    );
  }
  if (epochs !== undefined) return epochs * Math.ceil(examples! / batch);
  return total ?? DEFAULT_TOTAL_STEPS;
}

/** Compiles the training artifact of `model`; returns the exit code. */
export async function compileTrainCommand(
  args: ParsedArgs,
  model: string,
  shape: { batch: number; seq: number },
): Promise<number> {
  const { options } = args;
  const text = (n: string) => options.get(n) as string | undefined;
  const head = text("head") ?? "classification:2";
  let recipe;
  try {
    parseHead(head);
    recipe = parseRecipe(text("precision") ?? "fp32");
  } catch (e) {
    if (e instanceof HeadError || e instanceof RecipeError) {
      throw new UsageError(e.message);
    }
    throw e;
  }
  const total = totalSteps(args, shape.batch);
  const { learningRate: lr, warmupRatio: warmup, weightDecay, dropout, seed } =
    optimizerSettings(args, 2e-5);
  const vocabPath = text("vocab") ?? join(dirname(model), "vocab.txt");
  let vocab: string;
  try {
    vocab = await Deno.readTextFile(vocabPath);
  } catch {
    throw new UsageError(
      `Vocabulary '${vocabPath}' cannot be read; pass --vocab FILE.`,
    );
  }
  const { graph, warnings } = importOnnxFile(model);
  for (const w of warnings) console.error(`warning: ${w}`);
  const program = compileTraining(graph, {
    ...shape,
    head,
    seed,
    lr,
    totalSteps: total,
    warmupSteps: Math.round(total * warmup),
    weightDecay,
    recipe,
    recompute: recomputeOption(args),
    dropout: dropout === 0
      ? undefined
      : { hidden: dropout, attention: dropout },
  });
  const artifact = await buildArtifact(program, {
    model,
    ...shape,
    seed,
    head,
    recipe: recipe.name,
    dropout,
    vocab,
  });
  if (artifact.fallbacks.length > 0 && recipe.format !== "f32") {
    const ops = [...new Set(artifact.fallbacks.map((f) => f.split(" ")[0]))];
    throw new Error(
      `Recipe ${recipe.name} cannot run on the WebAssembly engine yet: it has no kernels for ${
        ops.join(", ")
      } (${artifact.fallbacks.length} nodes). Artifacts are fp32 for now; use --precision fp32.`,
    );
  }
  for (const f of artifact.fallbacks) {
    console.error(`warning: ${f} runs on the engine's reference fallback`);
  }
  const out = text("out")!;
  await writeArtifact(out, artifact);
  const m = artifact.manifest;
  const values = m.parameters.reduce((n, p) => n + p.bytes / 4, 0);
  const spec = (v: { name: string; dtype: string; shape: readonly number[] }) =>
    `${v.name}: ${v.dtype}[${v.shape}]`;
  console.log(
    [
      `artifact   ${out}`,
      `inputs     ${m.inputs.map(spec).join(", ")}`,
      `labels     ${m.labels.map(spec).join(", ")}`,
      `head       ${m.head}, recipe ${m.recipe}, dropout ${m.dropout}`,
      `params     ${m.parameters.length} tensors, ${values} values`,
      `schedule   AdamW lr ${lr}, ${m.optimizer.warmupSteps} warm-up of ${total} steps, weight decay ${weightDecay}`,
      `kernels    ${m.kernels.length} modules (${
        m.kernels.map((k) => k.name).join(", ")
      })`,
      `weights    ${(m.weights.bytes / 2 ** 20).toFixed(2)} MiB`,
    ].join("\n"),
  );
  return 0;
}
