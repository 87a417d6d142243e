/**
 * The execution engine: a static-shape IR graph on one pre-planned
 * WebAssembly memory, with generated WASM kernels, TypeScript kernels and a
 * counted reference fallback. Runs unchanged in browsers, Deno and Node.
 *
 * @module
 */

export {
  defaultGemm,
  Engine,
  type EngineOptions,
  type Fallback,
  type Feeds,
} from "./engine.ts";
export { EngineError } from "./errors.ts";
export type { WasmSource } from "./kernels/mod.ts";
export type { Layout, Slot } from "./layout.ts";
