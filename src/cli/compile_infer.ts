/**
 * `deno task compile MODEL --infer --precision w8a8 --calibration DIR`:
 * the post-training integer inference graph — the forward pipeline, then
 * the `ptq-int` rewrite (`src/ptq/integer_linear.ts`: every linear a
 * `QuantizedMatMul` on the int8 GEMM) with the activation ranges of
 * `DIR/quant_params.json` (written by `deno task calibrate`). `--dump-ir`
 * adds `NNN_ptq-int.ir`, where every QuantizedMatMul carries `ptq_alpha`,
 * `ptq_scale`, `ptq_zero_point`, `ptq_lo`, `ptq_hi` and reads the weight's
 * codes `<W>.ptq_q{bits}` and scales `<W>.ptq_wscale`. `--fake-quant` keeps
 * f32 products instead (the `ptq` rewrite of `src/ptq/fake_quant.ts`, any
 * width 2–16: `NNN_ptq.ir`). When the calibration ran gamma migration or
 * SmoothQuant first, the same rewrite comes before the quantisers (its own
 * dump, `NNN_gamma-migration.ir` or `NNN_smooth-quant.ir`).
 *
 * @module
 */

import { importOnnxFile } from "../frontend/import_model.ts";
import type { Graph } from "../ir/graph.ts";
import { printGraph } from "../ir/printer.ts";
import { verify } from "../ir/verify.ts";
import { fakeQuantise } from "../ptq/fake_quant.ts";
import { integerLinears } from "../ptq/integer_linear.ts";
import { applyTransforms } from "../ptq/transforms.ts";
import { exportOnnx } from "../export/onnx_export.ts";
import {
  parsePrecision,
  type Precision,
  PtqError,
  readQuantParams,
} from "../ptq/params.ts";
import type { CompileOptions } from "../passes/pass.ts";
import type { OptionSpec, ParsedArgs } from "./args.ts";
import { UsageError } from "./args.ts";
import { TRAIN_OPTIONS } from "./compile_train.ts";
import { compileForSummary, summarize } from "./summary.ts";

/** The options only `--infer` takes (it shares `--precision` with `--train`). */
export const INFER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  infer: {
    kind: "flag",
    help:
      "post-training integer inference on the int8 kernels, with --precision and --calibration",
  },
  onnx: {
    kind: "string",
    value: "FILE",
    help:
      "with --infer: also write the integer model as standard ONNX (MatMulInteger) to FILE",
  },
  "fake-quant": {
    kind: "flag",
    help:
      "with --infer: emulate the integer model with f32 products (any width 2–16)",
  },
  calibration: {
    kind: "string",
    value: "DIR",
    help:
      "folder holding quant_params.json from 'deno task calibrate' (--infer)",
  },
};

/** Whether `--infer` was given; refuses options that do not go with it. */
export function checkInferOptions({ options }: ParsedArgs): boolean {
  const infer = options.get("infer") === true;
  if (!infer) {
    for (const name of ["calibration", "fake-quant", "onnx"]) {
      if (options.has(name)) {
        throw new UsageError(`--${name} only applies with --infer.`);
      }
    }
    return false;
  }
  const stray = Object.keys(TRAIN_OPTIONS)
    .filter((n) => n !== "precision" && options.has(n))
    .map((n) => `--${n}`);
  if (stray.length > 0) {
    throw new UsageError(`${stray.join(", ")} cannot be used with --infer.`);
  }
  if (!options.has("precision")) {
    throw new UsageError("--infer needs --precision (w8a8, w6a6, w4a8, …).");
  }
  if (!options.has("calibration")) {
    throw new UsageError(
      "--infer needs --calibration DIR (run 'deno task calibrate --out DIR').",
    );
  }
  return true;
}

/** Parses `--precision` for `--infer`, as a usage error when bad. */
function precisionOf(args: ParsedArgs): Precision {
  try {
    return parsePrecision(args.options.get("precision") as string);
  } catch (e) {
    throw e instanceof PtqError ? new UsageError(e.message) : e;
  }
}

/**
 * The integer-inference forward graph of `graph` with the calibration in
 * `dir`: on the int8 kernels, or emulated in f32 with `fake`.
 */
export function compileInferGraph(
  graph: Graph,
  options: CompileOptions,
  precision: Precision,
  dir: string,
  observe?: (step: number, name: string, g: Graph) => void,
  verifyEach = false,
  fake = false,
): { compiled: Graph; folded: Graph; quantised: Graph } {
  const params = readQuantParams(dir);
  if (params.precision.activationBits !== precision.activationBits) {
    throw new UsageError(
      `--precision ${precision.name} has ${precision.activationBits}-bit activations but ${dir} was calibrated for ${params.precision.name}; calibrate again with --precision ${precision.name}.`,
    );
  }
  let step = 0;
  const { compiled, folded } = compileForSummary(
    graph,
    options,
    (s, pass, g) => {
      step = s;
      observe?.(s, pass.name, g);
    },
    verifyEach,
  );
  const quantise = fake ? fakeQuantise : integerLinears;
  let quantised: Graph;
  try {
    const transformed = applyTransforms(
      compiled,
      params.transforms,
      (name, g) => observe?.(++step, name, g),
    );
    quantised = quantise(transformed, {
      weightBits: precision.weightBits,
      sites: new Map(params.sites.map((s) => [s.value, s])),
      alpha: params.alpha,
      method: params.method,
    });
  } catch (e) {
    throw e instanceof PtqError ? new UsageError(e.message) : e;
  }
  if (verifyEach) verify(quantised);
  observe?.(step + 1, fake ? "ptq" : "ptq-int", quantised);
  return { compiled, folded, quantised };
}

/** Runs `compile --infer`; returns the exit code. */
export async function compileInferCommand(
  args: ParsedArgs,
  model: string,
  options: CompileOptions,
  dumpDir: string | undefined,
): Promise<number> {
  const precision = precisionOf(args);
  const dir = args.options.get("calibration") as string;
  const { graph, warnings, opset } = importOnnxFile(model);
  for (const w of warnings) console.error(`warning: ${w}`);
  const dumps: [number, string, Graph][] = [[0, "import", graph]];
  const { folded, quantised } = compileInferGraph(
    graph,
    options,
    precision,
    dir,
    (step, name, g) => {
      if (dumpDir !== undefined) dumps.push([step, name, g]);
    },
    args.options.get("verify") === true,
    args.options.get("fake-quant") === true,
  );
  if (dumpDir !== undefined) {
    await Deno.mkdir(dumpDir, { recursive: true });
    for (const [step, name, g] of dumps) {
      const file = `${dumpDir}/${String(step).padStart(3, "0")}_${name}.ir`;
      await Deno.writeTextFile(file, printGraph(g));
    }
  }
  const params = readQuantParams(dir);
  console.log(summarize(graph, quantised, folded, opset));
  const products = quantised.nodes.filter((n) => n.op === "QuantizedMatMul");
  const t = params.transforms;
  const before = t?.gammaMigration
    ? "gamma migration, "
    : t?.smoothQuant !== undefined
    ? `SmoothQuant α ${t.smoothQuant.alpha}, `
    : "";
  console.log(
    `ptq        ${precision.name} (${before}${params.method}, α = ${params.alpha}) — ${params.sites.length} activation quantisers, calibrated MSE ${params.mse}; ${
      args.options.get("fake-quant") === true
        ? "f32 products (fake quant)"
        : `${products.length} linears on the int8 GEMM`
    }`,
  );
  if (dumpDir !== undefined) {
    console.log(`dumps      ${dumps.length} files in ${dumpDir}`);
  }
  const onnxFile = args.options.get("onnx") as string | undefined;
  if (onnxFile !== undefined) {
    await Deno.writeFile(onnxFile, exportOnnx(quantised));
    console.log(`onnx       ${onnxFile}`);
  }
  return 0;
}
