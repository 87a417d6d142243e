/**
 * `deno task compile model.onnx`: imports an ONNX model, runs the pass
 * pipeline, writes an IR dump after every pass and prints a summary. With
 * `--train --out DIR` it writes a training artifact instead (see
 * `compile_train.ts`).
 *
 * @module
 */

import { kernelListings } from "../codegen/kernel_listing.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import type { Graph } from "../ir/graph.ts";
import { printGraph } from "../ir/printer.ts";
import { FORWARD_PIPELINE } from "../passes/pipeline.ts";
import type { CompileOptions } from "../passes/pass.ts";
import {
  formatOptions,
  type OptionSpec,
  parseCommand,
  UsageError,
} from "./args.ts";
import { checkModelFile, DEFAULT_MODEL } from "./task_options.ts";
import {
  checkTrainOptions,
  compileTrainCommand,
  TRAIN_OPTIONS,
} from "./compile_train.ts";
import {
  checkInferOptions,
  compileInferCommand,
  INFER_OPTIONS,
} from "./compile_infer.ts";
import { runMain } from "./main.ts";
import { compileForSummary, summarize } from "./summary.ts";

const OPTIONS: Record<string, OptionSpec> = {
  batch: {
    kind: "int",
    value: "N",
    help: "batch size symbolic batch dims become (default 1; 32 with --train)",
  },
  seq: {
    kind: "int",
    value: "N",
    help: "sequence length symbolic sequence dims become (default 128)",
  },
  dim: {
    kind: "list",
    value: "NAME=N",
    help: "bind another symbolic input dim (repeatable)",
  },
  "dump-ir": {
    kind: "string",
    value: "DIR",
    help: "write 000_import.ir, 001_<pass>.ir, … to DIR",
  },
  "dump-kernels": {
    kind: "string",
    value: "DIR",
    help: "write a WAT-like listing of every generated kernel to DIR",
  },
  verify: { kind: "flag", help: "run the IR verifier after every pass" },
  ...TRAIN_OPTIONS,
  ...INFER_OPTIONS,
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task compile [MODEL.onnx] [options]

Imports an ONNX model (default: ${DEFAULT_MODEL}), specialises it to static
shapes, runs the pass pipeline and prints a summary. With --train --out DIR,
attaches a head, compiles the training step and writes a training artifact
(manifest.json, step.ir, forward.ir, weights.bin, kernels/, vocab.txt,
tessera.js) that runs in Deno, Node and browsers. With --infer --precision
w8a8 --calibration DIR, compiles post-training integer inference: every
linear on the int8 GEMM, ranges from 'deno task calibrate' (--fake-quant
emulates it with f32 products instead).

Options:
${formatOptions(OPTIONS)}

Passes: ${FORWARD_PIPELINE.map((p) => p.name).join(" → ")}`;

function parseDims(list: readonly string[]): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const item of list) {
    const m = /^(.+)=(\d+)$/.exec(item);
    if (m === null || Number(m[2]) < 1) {
      throw new UsageError(
        `Option '--dim' takes NAME=N with N a positive integer, got '${item}'.`,
      );
    }
    dims[m[1]] = Number(m[2]);
  }
  return dims;
}

async function writeDump(
  dir: string,
  step: number,
  name: string,
  graph: Graph,
): Promise<void> {
  const file = `${dir}/${String(step).padStart(3, "0")}_${name}.ir`;
  await Deno.writeTextFile(file, printGraph(graph));
}

/** Runs the compile command on `argv`; returns the exit code. */
export async function compileCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE, {
    min: 0,
    max: 1,
    what: "model file",
  });
  if (args === undefined) return 0;
  const { options, positional } = args;
  const path = positional[0] ?? DEFAULT_MODEL;
  if (checkInferOptions(args)) {
    checkModelFile(path);
    return compileInferCommand(args, path, {
      batch: (options.get("batch") as number | undefined) ?? 1,
      seq: (options.get("seq") as number | undefined) ?? 128,
      dims: parseDims((options.get("dim") as string[] | undefined) ?? []),
    }, options.get("dump-ir") as string | undefined);
  }
  const train = checkTrainOptions(args);
  checkModelFile(path);
  if (train) {
    return compileTrainCommand(args, path, {
      batch: (options.get("batch") as number | undefined) ?? 32,
      seq: (options.get("seq") as number | undefined) ?? 128,
    });
  }
  const compileOptions: CompileOptions = {
    batch: (options.get("batch") as number | undefined) ?? 1,
    seq: (options.get("seq") as number | undefined) ?? 128,
    dims: parseDims((options.get("dim") as string[] | undefined) ?? []),
  };
  const dumpDir = options.get("dump-ir") as string | undefined;
  const { graph, warnings, opset } = await importOnnxFile(path);
  for (const w of warnings) console.error(`warning: ${w}`);
  const dumps: [number, string, Graph][] = [[0, "import", graph]];
  const { compiled, folded } = compileForSummary(
    graph,
    compileOptions,
    (step, pass, g) => {
      if (dumpDir !== undefined) dumps.push([step, pass.name, g]);
    },
    options.get("verify") === true,
  );
  if (dumpDir !== undefined) {
    await Deno.mkdir(dumpDir, { recursive: true });
    for (const [step, name, g] of dumps) {
      await writeDump(dumpDir, step, name, g);
    }
  }
  console.log(summarize(graph, compiled, folded, opset));
  if (dumpDir !== undefined) {
    console.log(`dumps      ${dumps.length} files in ${dumpDir}`);
  }
  const kernelDir = options.get("dump-kernels") as string | undefined;
  if (kernelDir !== undefined) {
    const listings = kernelListings();
    await Deno.mkdir(kernelDir, { recursive: true });
    for (const k of listings) {
      await Deno.writeTextFile(`${kernelDir}/${k.name}.wat`, k.text + "\n");
    }
    console.log(`kernels    ${listings.length} listings in ${kernelDir}`);
  }
  return 0;
}

if (import.meta.main) runMain(compileCommand, USAGE);
