/**
 * The fine-tuned model as users serve it: the encoder and its head with the
 * trained weights, `logits` out, no labels and no loss — ready for ONNX
 * export and ONNX Runtime.
 *
 * {@linkcode servingGraph} is the compiled program's forward, fixed at the
 * run's batch and sequence length; {@linkcode dynamicServingGraph} puts the
 * same head and weights on the encoder as imported, whose batch and
 * sequence dims are still symbolic, so the exported model takes any shape.
 *
 * @module
 */

import { replaceConstants } from "../export/replace_constants.ts";
import type { Graph, Node } from "../ir/graph.ts";
import { withParts } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { eliminateDeadCode } from "../passes/dead_code.ts";
import { DEFAULT_OPTIONS } from "../passes/pass.ts";
import type { TrainingProgram } from "../passes/training_pipeline.ts";
import type { TrainingState } from "../training/state.ts";

/** The encoder outputs a head reads. */
const ENCODER_OUTPUTS = ["last_hidden_state", "pooler_output"];

/** The trained value of every parameter of `program`. */
function trainedWeights(
  program: TrainingProgram,
  state: TrainingState,
): Map<string, Tensor> {
  return new Map(program.params.map((p) => [p, state.tensors.get(p)!]));
}

/** Keeps `logits` as the only output, drops the labels and what no longer counts. */
function servingOnly(graph: Graph, labels: readonly string[]): Graph {
  return eliminateDeadCode.run(
    withParts(graph, {
      inputs: graph.inputs.filter((name) => !labels.includes(name)),
      outputs: ["logits"],
    }),
    DEFAULT_OPTIONS,
  );
}

/** The serving graph of `program` with the weights of `state`. */
export function servingGraph(
  program: TrainingProgram,
  state: TrainingState,
): Graph {
  return servingOnly(
    replaceConstants(program.forward, trainedWeights(program, state)),
    program.labels,
  );
}

/**
 * The serving graph over `imported` (the encoder the run compiled), with
 * symbolic batch and sequence dims: the head's nodes — everything between
 * the encoder outputs and `logits` in `program.forward` — appended to the
 * imported encoder, and every parameter set to its value in `state`.
 */
export function dynamicServingGraph(
  imported: Graph,
  program: TrainingProgram,
  state: TrainingState,
): Graph {
  const { forward } = program;
  const producer = new Map<string, Node>();
  for (const n of forward.nodes) for (const o of n.outputs) producer.set(o, n);
  const head = new Set<Node>();
  const visit = (value: string) => {
    const n = producer.get(value);
    if (ENCODER_OUTPUTS.includes(value) || n === undefined || head.has(n)) {
      return;
    }
    head.add(n);
    n.inputs.forEach(visit);
  };
  visit("logits");
  const nodes = forward.nodes.filter((n) => head.has(n));
  const constants = new Map(imported.constants);
  for (const n of nodes) {
    for (const i of n.inputs) {
      const c = forward.constants.get(i);
      if (c !== undefined) constants.set(i, c);
    }
  }
  // logits keep the inputs' symbolic batch (and, for spans, sequence) dims.
  const logits = forward.types.get("logits")!;
  const dims = imported.types.get(imported.inputs[0])?.shape ?? logits.shape;
  const perToken = nodes.some((n) => n.inputs.includes("last_hidden_state"));
  const joined = withParts(imported, {
    constants,
    nodes: [...imported.nodes, ...nodes],
    types: [
      ...imported.types,
      ["logits", {
        dtype: logits.dtype,
        shape: [...dims.slice(0, perToken ? 2 : 1), logits.shape.at(-1)!],
      }],
    ],
  });
  return servingOnly(
    replaceConstants(joined, trainedWeights(program, state)),
    program.labels,
  );
}
