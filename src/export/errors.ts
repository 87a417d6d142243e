/**
 * Errors the ONNX exporter and weight replacement raise. Each carries the
 * facts as fields and says what to do in its message, which the CLI prints
 * alone.
 *
 * @module
 */

/** Base class of every export error, so callers can catch them as one. */
export class ExportError extends Error {
  /** Builds the error; subclasses write the whole message. */
  constructor(message: string) {
    super(message);
    this.name = "ExportError";
  }
}

/** One node that has no ONNX form at the requested opset. */
export interface UnexportableNode {
  /** Node name. */
  readonly name: string;
  /** IR operator. */
  readonly op: string;
  /** Why it cannot be exported. */
  readonly reason: string;
}

/** Nodes with no ONNX form, all of them in one error. */
export class UnexportableOpsError extends ExportError {
  /** Every node refused, in graph order. */
  readonly nodes: readonly UnexportableNode[];
  /** The opset the export was for. */
  readonly opset: number;

  /** Lists every refused node (the first 20 in the message). */
  constructor(nodes: readonly UnexportableNode[], opset: number) {
    const shown = nodes.slice(0, 20).map((n) =>
      `  - ${n.op} node '${n.name}': ${n.reason}`
    );
    if (nodes.length > 20) shown.push(`  … and ${nodes.length - 20} more`);
    const ops = [...new Set(nodes.map((n) => n.op))].sort().join(", ");
    super(
      `${nodes.length} node${
        nodes.length === 1 ? "" : "s"
      } cannot be exported to ONNX opset ${opset} (${ops}):\n${
        shown.join("\n")
      }\nExport the forward graph (before autodiff and the optimizer), or pick another opset.`,
    );
    this.name = "UnexportableOpsError";
    this.nodes = nodes;
    this.opset = opset;
  }
}

/** An opset the exporter cannot write. */
export class ExportOpsetError extends ExportError {
  /** The opset asked for. */
  readonly opset: number;
  /** Oldest opset written. */
  readonly min: number;
  /** Newest opset written. */
  readonly max: number;

  /** Names the opset and the range written. */
  constructor(opset: number, min: number, max: number) {
    super(
      `ONNX opset ${opset} cannot be exported; pick an opset from ${min} to ${max}.`,
    );
    this.name = "ExportOpsetError";
    this.opset = opset;
    this.min = min;
    this.max = max;
  }
}

/** Why a constant update was refused. */
export type UpdateProblem = "unknown-name" | "dtype" | "shape";

/** A weight update that does not fit the graph's constant. */
export class ConstantUpdateError extends ExportError {
  /** The constant's name. */
  readonly constantName: string;
  /** What is wrong. */
  readonly problem: UpdateProblem;

  /** Names the constant and what does not fit. */
  constructor(constantName: string, problem: UpdateProblem, detail: string) {
    super(`Cannot replace constant '${constantName}': ${detail}.`);
    this.name = "ConstantUpdateError";
    this.constantName = constantName;
    this.problem = problem;
  }
}
