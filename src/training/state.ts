/**
 * The state a training run carries from one step to the next, and how it
 * maps onto the inputs and outputs of a training-step graph (see
 * `src/passes/optimizer.ts`): every state tensor `N` is a graph input, and
 * the output `N@next` is its value after the step.
 *
 * Plain data, no I/O: it runs unchanged in Deno, Node and a browser.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { initialOptimizerState, nextName } from "../passes/optimizer.ts";

/** Everything needed to continue a run bit-identically. */
export interface TrainingState {
  /** Updates done so far; the next step graph gets it as `step`. */
  readonly step: number;
  /**
   * The run's seed (an unsigned 32-bit integer). Batch order is a function
   * of (seed, step), so resuming needs no generator state.
   */
  readonly seed: number;
  /**
   * The f32 master weights `p` and AdamW moments `p@m`, `p@v`, by the
   * step graph's input names.
   */
  readonly tensors: ReadonlyMap<string, Tensor>;
}

/** A state that does not fit the step graph it is used with. */
export class TrainingStateError extends Error {
  /** Builds the error; `message` says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "TrainingStateError";
  }
}

/**
 * The state at step 0 for `graph` (the forward+backward graph before the
 * optimizer pass): weights from its constants, zero moments.
 */
export function initialTrainingState(
  graph: Graph,
  seed: number,
  params?: readonly string[],
): TrainingState {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new TrainingStateError(
      `The seed must be an unsigned 32-bit integer, got ${seed}.`,
    );
  }
  return { step: 0, seed, tensors: initialOptimizerState(graph, params) };
}

/** The step graph's state inputs: each input `N` with an output `N@next`. */
export function stateInputs(stepGraph: Graph): string[] {
  const outputs = new Set(stepGraph.outputs);
  return stepGraph.inputs.filter((name) => outputs.has(nextName(name)));
}

/** Throws unless `state` holds exactly the state inputs of `stepGraph`. */
export function checkStateFits(stepGraph: Graph, state: TrainingState): void {
  const names = stateInputs(stepGraph);
  const missing = names.filter((n) => !state.tensors.has(n));
  const extra = [...state.tensors.keys()].filter((n) => !names.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new TrainingStateError(
      `Training state does not fit graph '${stepGraph.name}': missing [${missing}], unexpected [${extra}]; build the state from the same model and parameter list.`,
    );
  }
  for (const name of names) {
    const type = stepGraph.types.get(name);
    const t = state.tensors.get(name)!;
    const want = type && `${type.dtype}[${type.shape}]`;
    if (want !== undefined && want !== `${t.dtype}[${t.shape}]`) {
      throw new TrainingStateError(
        `State tensor '${name}' is ${t.dtype}[${t.shape}] but graph '${stepGraph.name}' expects ${want}.`,
      );
    }
  }
}
