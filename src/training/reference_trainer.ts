/**
 * The reference training loop: runs a training-step graph (see
 * `src/passes/optimizer.ts`) on the reference executor, one batch per step,
 * and carries the optimizer state from each step's `N@next` outputs to the
 * next step's `N` inputs. It is the oracle the generated WASM trainer is
 * checked against, so it is plain and deterministic: the same state and
 * batches give bit-identical weights.
 *
 * @example
 * ```ts
 * const stepGraph = appendOptimizer(lossAndGrads, { lr: 1e-3, totalSteps: 100 });
 * let state = initialTrainingState(lossAndGrads, 42);
 * state = train(stepGraph, state, 100, (step, seed) => batchFor(step, seed));
 * ```
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { scalar, type Tensor } from "../ir/tensor.ts";
import { execute } from "../executor/execute.ts";
import { nextName, STEP_INPUT } from "../passes/optimizer.ts";
import {
  checkStateFits,
  type TrainingState,
  TrainingStateError,
} from "./state.ts";

/** One batch: the step graph's data inputs (e.g. `X`, `labels`) by name. */
export type Batch = ReadonlyMap<string, Tensor> | Record<string, Tensor>;

/** What one step gives back. */
export interface StepResult {
  /** The state after the step (`step` one higher). */
  readonly state: TrainingState;
  /**
   * The step graph's other outputs: the loss (under its name in the model),
   * `grad_norm` and `lr`.
   */
  readonly outputs: ReadonlyMap<string, Tensor>;
}

/** Runs one training step of `stepGraph` from `state` on `batch`. */
export function trainStep(
  stepGraph: Graph,
  state: TrainingState,
  batch: Batch,
): StepResult {
  checkStateFits(stepGraph, state);
  const feeds = new Map(batch instanceof Map ? batch : Object.entries(batch));
  for (const name of [STEP_INPUT, ...state.tensors.keys()]) {
    if (feeds.has(name)) {
      throw new TrainingStateError(
        `The batch feeds '${name}', which the training state owns; rename that data input.`,
      );
    }
  }
  feeds.set(STEP_INPUT, scalar("i64", state.step));
  for (const [name, t] of state.tensors) feeds.set(name, t);
  const results = execute(stepGraph, feeds);
  const tensors = new Map<string, Tensor>();
  for (const name of state.tensors.keys()) {
    tensors.set(name, results.get(nextName(name))!);
    results.delete(nextName(name));
  }
  return {
    state: { step: state.step + 1, seed: state.seed, tensors },
    outputs: results,
  };
}

/**
 * Runs `steps` training steps from `state`. `batchAt(step, seed)` supplies
 * each step's batch; it must depend only on its arguments, so that a run
 * resumed from a checkpoint sees the same data as one never interrupted.
 * `onStep` sees every step's result (for logging or checkpointing).
 */
export function train(
  stepGraph: Graph,
  state: TrainingState,
  steps: number,
  batchAt: (step: number, seed: number) => Batch,
  onStep?: (result: StepResult) => void,
): TrainingState {
  let current = state;
  for (let i = 0; i < steps; i++) {
    const result = trainStep(
      stepGraph,
      current,
      batchAt(current.step, current.seed),
    );
    onStep?.(result);
    current = result.state;
  }
  return current;
}
