/**
 * The fine-tuned model as users serve it: the encoder and its head with the
 * trained weights, `logits` out, no labels and no loss — ready for ONNX
 * export and ONNX Runtime.
 *
 * @module
 */

import { replaceConstants } from "../export/replace_constants.ts";
import type { Graph } from "../ir/graph.ts";
import { withParts } from "../ir/graph.ts";
import { eliminateDeadCode } from "../passes/dead_code.ts";
import { DEFAULT_OPTIONS } from "../passes/pass.ts";
import type { TrainingProgram } from "../passes/training_pipeline.ts";
import type { TrainingState } from "../training/state.ts";

/** The serving graph of `program` with the weights of `state`. */
export function servingGraph(
  program: TrainingProgram,
  state: TrainingState,
): Graph {
  const weights = new Map(
    program.params.map((p) => [p, state.tensors.get(p)!]),
  );
  const trained = replaceConstants(program.forward, weights);
  const inputs = trained.inputs.filter((name) =>
    !program.labels.includes(name)
  );
  return eliminateDeadCode.run(
    withParts(trained, { inputs, outputs: ["logits"] }),
    DEFAULT_OPTIONS,
  );
}
