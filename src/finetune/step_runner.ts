/**
 * What runs the training steps and the evaluations of a fine-tuning run:
 * the WebAssembly engine (fast; the default) or the reference executor (the
 * double-precision oracle). Both keep the optimizer state and hand it out as
 * a {@linkcode TrainingState} for checkpoints.
 *
 * @module
 */

import { Engine } from "../../runtime/engine/mod.ts";
import { execute } from "../executor/execute.ts";
import { replaceConstants } from "../export/replace_constants.ts";
import type { Graph } from "../ir/graph.ts";
import { scalar, type Tensor } from "../ir/tensor.ts";
import { STEP_INPUT } from "../passes/optimizer.ts";
import type { TrainingProgram } from "../passes/training_pipeline.ts";
import { trainStep } from "../training/reference_trainer.ts";
import type { TrainingState } from "../training/state.ts";

/** Which executor a run uses. */
export type Backend = "wasm" | "reference";

/** Runs training steps from a state. */
export interface StepRunner {
  /** One step on `feeds` (token inputs and labels); returns the loss. */
  step(feeds: ReadonlyMap<string, Tensor>): number;
  /** The state after every step run so far. */
  state(): TrainingState;
}

/** Runs a forward graph on batches. */
export type Forward = (
  feeds: ReadonlyMap<string, Tensor>,
) => Map<string, Tensor>;

function referenceRunner(
  program: TrainingProgram,
  start: TrainingState,
): StepRunner {
  let state = start;
  return {
    step(feeds) {
      const result = trainStep(program.step, state, feeds);
      state = result.state;
      return result.outputs.get("loss")!.data[0];
    },
    state: () => state,
  };
}

async function engineRunner(
  program: TrainingProgram,
  start: TrainingState,
): Promise<StepRunner> {
  const engine = await Engine.create(program.step, { resident: start.tensors });
  let step = start.step;
  return {
    step(feeds) {
      const all = new Map(feeds);
      all.set(STEP_INPUT, scalar("i64", step));
      const loss = engine.run(all).get("loss")!.data[0];
      step++;
      return loss;
    },
    state: () => ({
      step,
      seed: start.seed,
      tensors: new Map(
        [...start.tensors.keys()].map((name) => [name, engine.value(name)]),
      ),
    }),
  };
}

/** A step runner on `backend` starting from `state`. */
export function stepRunner(
  backend: Backend,
  program: TrainingProgram,
  state: TrainingState,
): Promise<StepRunner> {
  return backend === "wasm"
    ? engineRunner(program, state)
    : Promise.resolve(referenceRunner(program, state));
}

/** `forward` with the weights of `state`, ready to run batches on `backend`. */
export async function forwardRunner(
  backend: Backend,
  forward: Graph,
  params: readonly string[],
  state: TrainingState,
): Promise<Forward> {
  const graph = replaceConstants(
    forward,
    new Map(params.map((p) => [p, state.tensors.get(p)!])),
  );
  if (backend === "reference") return (feeds) => execute(graph, feeds);
  const engine = await Engine.create(graph);
  return (feeds) => engine.run(feeds);
}
