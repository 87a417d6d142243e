/**
 * `deno run -A src/cli/export_onnx.ts MODEL.onnx --out OUT.onnx`: imports
 * an ONNX model, runs the forward pipeline and writes the result back as
 * ONNX — the graph another runtime serves.
 *
 * @module
 */

import {
  DEFAULT_EXPORT_OPSET,
  exportOnnx,
  ExportOpsetError,
  MAX_EXPORT_OPSET,
  MIN_EXPORT_OPSET,
} from "../export/mod.ts";
import { importOnnxFile } from "../frontend/import_model.ts";
import type { Graph } from "../ir/graph.ts";
import { FORWARD_PIPELINE, runPipeline } from "../passes/pipeline.ts";
import {
  formatOptions,
  type OptionSpec,
  parseCommand,
  UsageError,
} from "./args.ts";
import { runMain } from "./main.ts";
import { checkModelFile } from "./task_options.ts";

const OPTIONS: Record<string, OptionSpec> = {
  out: { kind: "string", value: "FILE", help: "the ONNX file to write" },
  batch: {
    kind: "int",
    value: "N",
    help: "batch size symbolic batch dims become (default 1)",
  },
  seq: {
    kind: "int",
    value: "N",
    help: "sequence length symbolic sequence dims become (default 128)",
  },
  "keep-symbolic": {
    kind: "flag",
    help: "keep symbolic dims: export the imported graph, before the passes",
  },
  opset: {
    kind: "int",
    value: "N",
    help:
      `ai.onnx opset, ${MIN_EXPORT_OPSET} to ${MAX_EXPORT_OPSET} (default ${DEFAULT_EXPORT_OPSET})`,
  },
  help: { kind: "flag", help: "show this help" },
};

const USAGE =
  `Usage: deno run -A src/cli/export_onnx.ts MODEL.onnx --out OUT.onnx [options]

Imports an ONNX model, specialises it to static shapes, runs the forward
pipeline and writes the result as an ONNX model. With --keep-symbolic the
imported graph is written as it is, batch and sequence dims left symbolic:
the pipeline's passes need static shapes.

Options:
${formatOptions(OPTIONS)}

Passes: ${FORWARD_PIPELINE.map((p) => p.name).join(" → ")}`;

/** Runs the export command on `argv`; returns the exit code. */
export async function exportCommand(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE, {
    min: 1,
    max: 1,
    what: "model file",
  });
  if (args === undefined) return 0;
  const { options, positional } = args;
  const out = options.get("out") as string | undefined;
  if (out === undefined) {
    throw new UsageError("Option '--out FILE' is required.");
  }
  const keepSymbolic = options.get("keep-symbolic") === true;
  if (keepSymbolic && (options.has("batch") || options.has("seq"))) {
    throw new UsageError(
      "Options '--batch' and '--seq' specialise the graph; '--keep-symbolic' keeps it symbolic. Give one or the other.",
    );
  }
  const opset = (options.get("opset") as number | undefined) ??
    DEFAULT_EXPORT_OPSET;
  // Refused before the import, which can take a while for a big model.
  if (opset < MIN_EXPORT_OPSET || opset > MAX_EXPORT_OPSET) {
    throw new ExportOpsetError(opset, MIN_EXPORT_OPSET, MAX_EXPORT_OPSET);
  }
  const path = positional[0];
  checkModelFile(path);
  const { graph, warnings } = importOnnxFile(path);
  for (const w of warnings) console.error(`warning: ${w}`);
  const exported: Graph = keepSymbolic ? graph : runPipeline(graph, {
    batch: (options.get("batch") as number | undefined) ?? 1,
    seq: (options.get("seq") as number | undefined) ?? 128,
    dims: {},
  });
  const bytes = exportOnnx(exported, { opset });
  try {
    await Deno.writeFile(out, bytes);
  } catch (e) {
    throw new Error(
      `Cannot write '${out}' (${
        (e as Error).message
      }); check that its folder exists and is writable.`,
    );
  }
  const mb = (bytes.length / 2 ** 20).toFixed(1);
  console.log(
    `wrote ${out}: ${exported.nodes.length} IR nodes, ${exported.constants.size} constants, ${mb} MiB, opset ${opset}`,
  );
  return 0;
}

if (import.meta.main) runMain(exportCommand, USAGE);
