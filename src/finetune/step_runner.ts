/**
 * What runs the training steps and the evaluations of a fine-tuning run:
 * the WebAssembly engine (fast; the default) or the reference executor (the
 * double-precision oracle), each with one step graph per length bucket.
 * Both keep the optimizer state and hand it out as a
 * {@linkcode TrainingState} for checkpoints.
 *
 * @module
 */

import { Engine } from "../../runtime/engine/mod.ts";
import { execute } from "../executor/execute.ts";
import { replaceConstants } from "../export/replace_constants.ts";
import type { Graph } from "../ir/graph.ts";
import { scalar, type Tensor } from "../ir/tensor.ts";
import { nextName, STEP_INPUT } from "../passes/optimizer.ts";
import type { TrainingProgram } from "../passes/training_pipeline.ts";
import { trainStep } from "../training/reference_trainer.ts";
import type { TrainingState } from "../training/state.ts";
import type { Programs } from "./buckets.ts";

/** Which executor a run uses. */
export type Backend = "wasm" | "reference";

/** Runs training steps from a state, each on the step graph of its batch's length. */
export interface StepRunner {
  /**
   * One step on `feeds` (token inputs and labels padded to `length`);
   * returns the loss.
   */
  step(feeds: ReadonlyMap<string, Tensor>, length: number): Promise<number>;
  /** The state after every step run so far. */
  state(): TrainingState;
  /** Stops the engines' worker threads; call once the run is over. */
  close(): void;
}

/** Runs a forward graph on batches. */
export type Forward = (
  feeds: ReadonlyMap<string, Tensor>,
) => Map<string, Tensor>;

/** One step on a batch; returns the loss. */
type Step = (feeds: ReadonlyMap<string, Tensor>) => number;

/** The training state and the step graphs it moves between. */
interface Trainer {
  /** The step function of `program`, which holds the state from now on. */
  at(program: TrainingProgram): Promise<Step>;
  state(): TrainingState;
  close(): void;
}

function referenceTrainer(start: TrainingState): Trainer {
  let state = start;
  return {
    at: (program) =>
      Promise.resolve((feeds) => {
        const result = trainStep(program.step, state, feeds);
        state = result.state;
        return result.outputs.get("loss")!.data[0];
      }),
    state: () => state,
    close: () => {},
  };
}

/**
 * One engine per step graph, created when first needed. The state lives in
 * the engine that ran the last step; moving to another engine copies the
 * state tensors straight from the one memory into the other (one copy of
 * the weights and moments, no allocation).
 */
function engineTrainer(start: TrainingState, threads: number): Trainer {
  const engines = new Map<TrainingProgram, Engine>();
  const names = [...start.tensors.keys()];
  let active: Engine | undefined;
  // The state by name: `start`'s tensors until a step runs, then views of
  // the active engine's `N@next` outputs (valid until its next run).
  let current: ReadonlyMap<string, Tensor> = start.tensors;
  let step = start.step;
  const engineFor = async (program: TrainingProgram) => {
    const engine = engines.get(program);
    if (engine === undefined) {
      const created = await Engine.create(program.step, {
        resident: current,
        threads,
      });
      engines.set(program, created);
      return created;
    }
    if (engine !== active) {
      for (const name of names) engine.setConstant(name, current.get(name)!);
    }
    return engine;
  };
  return {
    async at(program) {
      const engine = await engineFor(program);
      active = engine;
      return (feeds) => {
        const all = new Map(feeds);
        all.set(STEP_INPUT, scalar("i64", step));
        // Views: copying every output out would copy the whole state each step.
        const outputs = engine.run(all, { views: true });
        current = new Map(
          names.map((name) => [name, outputs.get(nextName(name))!]),
        );
        step++;
        return outputs.get("loss")!.data[0];
      };
    },
    state: () => ({
      step,
      seed: start.seed,
      tensors: new Map(
        names.map((name) => {
          const t = current.get(name)!;
          return [name, { ...t, data: t.data.slice() }];
        }),
      ),
    }),
    close: () => {
      for (const engine of engines.values()) engine.close();
    },
  };
}

function trainerOn(
  backend: Backend,
  start: TrainingState,
  threads: number,
): Trainer {
  return backend === "wasm"
    ? engineTrainer(start, threads)
    : referenceTrainer(start);
}

/**
 * A step runner on `backend` starting from `state` that runs each batch on
 * the step graph of its length (`programs`, compiled and given an engine
 * when first needed); the engines split each GEMM between `threads`
 * threads (same results bit for bit).
 */
export function stepRunner(
  backend: Backend,
  programs: Programs,
  state: TrainingState,
  threads = 1,
): StepRunner {
  const trainer = trainerOn(backend, state, threads);
  return {
    step: async (feeds, length) => (await trainer.at(programs(length)))(feeds),
    state: trainer.state,
    close: trainer.close,
  };
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

/**
 * The evaluation graph of each length bucket with the weights of `state`,
 * built on `backend` the first time a batch of that length asks for it.
 */
export function bucketedEvaluation(
  backend: Backend,
  programs: Programs,
  state: TrainingState,
): (length: number) => Promise<Forward> {
  const runners = new Map<number, Promise<Forward>>();
  return (length) => {
    let run = runners.get(length);
    if (run === undefined) {
      const program = programs(length);
      run = forwardRunner(backend, program.evaluation, program.params, state);
      runners.set(length, run);
    }
    return run;
  };
}
