/**
 * `specialize`: binds the symbolic dims of the graph inputs to numbers —
 * the first dim of each input to the batch size, the second to the
 * sequence length, unless named explicitly with `dims`.
 *
 * Before: `input input_ids: i64[batch,sequence]`
 * After (`--batch 8 --seq 128`): `input input_ids: i64[8,128]`
 *
 * @module
 */

import type { Dim, Graph, ValueType } from "../ir/graph.ts";
import { withParts } from "../ir/graph.ts";
import type { CompileOptions, Pass } from "./pass.ts";

/** A symbolic input dim that no option binds. */
export class UnboundDimError extends Error {
  /** The symbol. */
  readonly dim: string;

  /** Names the input, the dim and the option that binds it. */
  constructor(input: string, dim: string) {
    super(
      `Input '${input}' has symbolic dim '${dim}' that no option binds; pass --dim ${dim}=N.`,
    );
    this.name = "UnboundDimError";
    this.dim = dim;
  }
}

/** The binding of every symbolic input dim. */
export function bindInputDims(
  graph: Graph,
  options: CompileOptions,
): Map<string, number> {
  const bindings = new Map<string, number>(Object.entries(options.dims));
  for (const input of graph.inputs) {
    const type = graph.types.get(input);
    if (type === undefined) continue;
    type.shape.forEach((d, axis) => {
      if (typeof d !== "string" || bindings.has(d)) return;
      if (axis === 0) bindings.set(d, options.batch);
      else if (axis === 1) bindings.set(d, options.seq);
      else throw new UnboundDimError(input, d);
    });
  }
  return bindings;
}

function bindType(type: ValueType, bindings: Map<string, number>): ValueType {
  const shape: Dim[] = type.shape.map((d) =>
    typeof d === "string" ? bindings.get(d) ?? d : d
  );
  return { dtype: type.dtype, shape };
}

/** The `specialize` pass. */
export const specialize: Pass = {
  name: "specialize",
  summary: "bind symbolic batch and sequence dims to the compile options",
  requires: [],
  provides: ["static-inputs"],
  run(graph, options) {
    const bindings = bindInputDims(graph, options);
    const types = new Map<string, ValueType>();
    for (const [name, type] of graph.types) {
      types.set(name, bindType(type, bindings));
    }
    return withParts(graph, { types });
  },
};
