/**
 * The entry point esbuild bundles into `build/runtime.mjs`: the runtime's
 * public API plus the smoke checks (the data layer, and a few training steps
 * of a toy BERT compiled in place and run on the WebAssembly engine), with
 * nothing Deno- or Node-specific (so `data/read_file.ts` stays out).
 *
 * @module
 */

export * from "./data/mod.ts";
export {
  runSmoke,
  type SmokeBatch,
  type SmokeEncoding,
  type SmokeMetrics,
  type SmokeResult,
} from "./smoke.ts";
export {
  runTrainingSmoke,
  type TrainingSmokeResult,
} from "./training_smoke.ts";
