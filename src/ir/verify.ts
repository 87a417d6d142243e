/**
 * The IR verifier: the rules every graph obeys between passes.
 *
 * - every value is defined once (graph input, constant or node output);
 * - every node reads only values defined before it (topological order);
 * - every operator is registered and called with an arity it accepts;
 * - graph outputs are defined;
 * - with `requireTypes`, every value has a type; with `requireStatic`, a
 *   static one.
 *
 * @module
 */

import { findOp } from "../ops/mod.ts";
import { type Graph, isStatic } from "./graph.ts";

/** The rules a graph broke, all of them, one per line. */
export class VerifyError extends Error {
  /** Every violation found. */
  readonly problems: readonly string[];

  /** Lists the problems of `graph`. */
  constructor(graph: string, problems: readonly string[]) {
    const shown = problems.slice(0, 20).map((p) => `  - ${p}`).join("\n");
    const more = problems.length > 20
      ? `\n  … and ${problems.length - 20} more`
      : "";
    super(`Graph '${graph}' is invalid:\n${shown}${more}`);
    this.name = "VerifyError";
    this.problems = problems;
  }
}

/** What {@linkcode verify} checks beyond structure. */
export interface VerifyOptions {
  /** Every value must have a type. */
  requireTypes?: boolean;
  /** Every type must be static (implies `requireTypes`). */
  requireStatic?: boolean;
}

/** The problems of `graph`, empty when it is valid. */
export function findProblems(
  graph: Graph,
  options: VerifyOptions = {},
): string[] {
  const problems: string[] = [];
  const defined = new Set<string>();
  const define = (name: string, where: string) => {
    if (defined.has(name)) {
      problems.push(`value '${name}' is defined again by ${where}.`);
    }
    defined.add(name);
  };
  for (const name of graph.inputs) define(name, "a graph input");
  for (const name of graph.constants.keys()) define(name, "a constant");
  for (const node of graph.nodes) {
    const def = findOp(node.op);
    if (def === undefined) {
      problems.push(`node '${node.name}' uses unknown operator '${node.op}'.`);
    } else {
      const [minIn, maxIn] = def.inputs;
      const [minOut, maxOut] = def.outputs;
      if (node.inputs.length < minIn || node.inputs.length > maxIn) {
        problems.push(
          `node '${node.name}' (${node.op}) has ${node.inputs.length} inputs; it takes ${minIn} to ${maxIn}.`,
        );
      }
      if (node.outputs.length < minOut || node.outputs.length > maxOut) {
        problems.push(
          `node '${node.name}' (${node.op}) has ${node.outputs.length} outputs; it gives ${minOut} to ${maxOut}.`,
        );
      }
    }
    for (const name of node.inputs) {
      if (name !== "" && !defined.has(name)) {
        problems.push(
          `node '${node.name}' reads '${name}' before it is defined.`,
        );
      }
    }
    for (const name of node.outputs) {
      if (name !== "") define(name, `node '${node.name}'`);
    }
  }
  for (const name of graph.outputs) {
    if (!defined.has(name)) {
      problems.push(`graph output '${name}' is never defined.`);
    }
  }
  if (options.requireTypes || options.requireStatic) {
    for (const name of defined) {
      if (graph.constants.has(name)) continue;
      const type = graph.types.get(name);
      if (type === undefined) problems.push(`value '${name}' has no type.`);
      else if (options.requireStatic && !isStatic(type)) {
        problems.push(`value '${name}' has a symbolic shape [${type.shape}].`);
      }
    }
  }
  return problems;
}

/** Throws {@linkcode VerifyError} when `graph` breaks a rule. */
export function verify(graph: Graph, options: VerifyOptions = {}): void {
  const problems = findProblems(graph, options);
  if (problems.length > 0) throw new VerifyError(graph.name, problems);
}
