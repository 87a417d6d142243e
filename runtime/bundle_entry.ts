/**
 * The entry point esbuild bundles into `build/runtime.mjs`: the runtime's
 * public API plus the smoke check, with nothing Deno- or Node-specific (so
 * `data/read_file.ts` stays out). Later parts of the runtime are exported
 * from here too.
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
