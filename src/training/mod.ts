/**
 * Training: the state a run carries, its checkpoint bytes, and the
 * reference training loop. Everything exported here runs in Deno, Node and
 * a browser; saving to and loading from files is in `checkpoint_file.ts`,
 * which this module does not re-export because it needs Deno.
 *
 * @module
 */

export {
  CheckpointError,
  crc32,
  decodeState,
  encodeState,
} from "./checkpoint.ts";
export {
  type Batch,
  type StepResult,
  train,
  trainStep,
} from "./reference_trainer.ts";
export {
  checkStateFits,
  initialTrainingState,
  stateInputs,
  type TrainingState,
  TrainingStateError,
} from "./state.ts";
