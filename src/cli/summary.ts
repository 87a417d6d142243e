/**
 * The one-screen summary `deno task compile` prints: what the model is, what
 * the passes did to it, and where its MatMuls are.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { isFloat } from "../ir/dtype.ts";
import { printType } from "../ir/printer.ts";
import type { CompileOptions } from "../passes/pass.ts";
import {
  FORWARD_PIPELINE,
  type PassObserver,
  runPipeline,
} from "../passes/pipeline.ts";

/** Number of nodes per operator, sorted by count then name. */
export function opCounts(graph: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of graph.nodes) {
    counts.set(node.op, (counts.get(node.op) ?? 0) + 1);
  }
  return new Map(
    [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  );
}

/** Total elements of floating-point constants with more than one element. */
export function parameterCount(graph: Graph): number {
  let n = 0;
  for (const t of graph.constants.values()) {
    if (isFloat(t.dtype) && t.data.length > 1) {
      n += t.shape.reduce((a, b) => a * b, 1);
    }
  }
  return n;
}

/** A MatMul-like node and whether one operand is a constant weight. */
export interface MatMulInfo {
  /** Node name. */
  readonly name: string;
  /** MatMul or Gemm. */
  readonly op: string;
  /** The constant operand, if any. */
  readonly weight?: string;
}

/** Every MatMul and Gemm with its weight operand, if it has one. */
export function findMatMuls(graph: Graph): MatMulInfo[] {
  return graph.nodes
    .filter((n) => n.op === "MatMul" || n.op === "Gemm")
    .map((n) => ({
      name: n.name,
      op: n.op,
      weight: n.inputs.slice(0, 2).find((i) => graph.constants.has(i)),
    }));
}

/** MatMuls listed by name before the summary stops listing them. */
const MATMULS_SHOWN = 12;

function formatCounts(counts: Map<string, number>): string {
  return [...counts].map(([op, n]) => `${op} ${n}`).join(", ");
}

/** Operators whose count went down from `before` to `after`, with how many went. */
export function removedOps(before: Graph, after: Graph): Map<string, number> {
  const a = opCounts(after);
  const gone = new Map<string, number>();
  for (const [op, n] of opCounts(before)) {
    const left = a.get(op) ?? 0;
    if (left < n) gone.set(op, n - left);
  }
  return gone;
}

/** The summary text. */
export function summarize(
  imported: Graph,
  compiled: Graph,
  folded: Graph,
  opset: number,
): string {
  const matmuls = findMatMuls(compiled);
  const weighted = matmuls.filter((m) => m.weight !== undefined);
  const lines = [
    `model      ${compiled.name} (opset ${opset})`,
    `inputs     ${
      compiled.inputs.map((i) => `${i}: ${printType(compiled.types.get(i))}`)
        .join(", ")
    }`,
    `outputs    ${
      compiled.outputs.map((o) => `${o}: ${printType(compiled.types.get(o))}`)
        .join(", ")
    }`,
    `parameters ${
      parameterCount(compiled).toLocaleString("en-US")
    } in ${compiled.constants.size} constants`,
    `imported   ${imported.nodes.length} nodes: ${
      formatCounts(opCounts(imported))
    }`,
    `folded     ${imported.nodes.length - folded.nodes.length} nodes away: ${
      formatCounts(removedOps(imported, folded)) || "none"
    }`,
    `compiled   ${compiled.nodes.length} nodes: ${
      formatCounts(opCounts(compiled))
    }`,
    `matmuls    ${matmuls.length}: ${weighted.length} with a constant weight, ${
      matmuls.length - weighted.length
    } activation × activation`,
  ];
  for (const m of matmuls.slice(0, MATMULS_SHOWN)) {
    lines.push(
      `  ${m.weight !== undefined ? "W" : "A"} ${m.name}${
        m.weight !== undefined ? `  ← ${m.weight}` : ""
      }`,
    );
  }
  if (matmuls.length > MATMULS_SHOWN) {
    lines.push(`  … ${matmuls.length - MATMULS_SHOWN} more (see the IR dump)`);
  }
  return lines.join("\n");
}

/**
 * Runs the forward pipeline and keeps, besides the result, the graph right
 * after folding (the first dead-code pass), which the summary's "folded"
 * line compares with the import.
 */
export function compileForSummary(
  graph: Graph,
  options: CompileOptions,
  observe?: PassObserver,
  verifyEach = false,
): { compiled: Graph; folded: Graph } {
  let folded = graph;
  const compiled = runPipeline(
    graph,
    options,
    FORWARD_PIPELINE,
    (step, pass, g) => {
      observe?.(step, pass, g);
      if (pass.name === "eliminate-dead-code" && folded === graph) folded = g;
    },
    verifyEach,
  );
  return { compiled, folded };
}
