/**
 * Binds kernels to engine memory: each node's {@linkcode KernelRuntime}
 * (addresses and views of its operands, its persistent bytes, the shared
 * scratch, version counters of replaceable inputs, and a per-engine cache of
 * instantiated WebAssembly modules), then builds every step.
 *
 * A kernel module found by name among {@linkcode ModuleOptions.compiled}
 * (the `.wasm` files an artifact ships) is instantiated from there instead
 * of from the bytes the kernel generated.
 *
 * @module
 */

import type { GemmExport, GemmParams } from "../../src/codegen/gemm/mod.ts";
import type { TensorData } from "../../src/ir/dtype.ts";
import type { Graph } from "../../src/ir/graph.ts";
import type { Kernel, KernelRuntime, Step, WasmSource } from "./kernels/mod.ts";
import type { Layout } from "./layout.ts";
import type { EngineThreads, SplitSpec } from "./threads.ts";
import { viewOf } from "./views.ts";

/** Where kernel modules come from, and who sees them. */
export interface ModuleOptions {
  /** Compiled modules by name, used instead of the kernels' own bytes. */
  readonly compiled?: ReadonlyMap<string, WebAssembly.Module>;
  /** Called once per module name before it is instantiated; may throw. */
  readonly onModule?: (source: WasmSource) => void;
}

/** A module and its instance's exports. */
interface Instantiated {
  readonly module: WebAssembly.Module;
  readonly exports: WebAssembly.Exports;
}

/**
 * Builds the steps of `kernels` (one per node of `graph`) over `memory`;
 * GEMM exports and split calls are wrapped by `threads` (see `threads.ts`).
 */
export async function buildSteps(
  graph: Graph,
  layout: Layout,
  memory: WebAssembly.Memory,
  kernels: readonly Kernel[],
  persistentBytes: readonly number[],
  versions: ReadonlyMap<string, number>,
  threads: EngineThreads,
  options: ModuleOptions = {},
): Promise<Step[]> {
  const modules = new Map<string, Promise<Instantiated>>();
  const imports = { env: { memory } };
  const load = (source: WasmSource) => {
    let loaded = modules.get(source.name);
    if (loaded === undefined) {
      options.onModule?.(source);
      const compiled = options.compiled?.get(source.name);
      loaded = compiled !== undefined
        ? WebAssembly.instantiate(compiled, imports).then((instance) => ({
          module: compiled,
          exports: instance.exports,
        }))
        : WebAssembly.instantiate(source.bytes, imports)
          .then(({ module, instance }) => ({
            module,
            exports: instance.exports,
          }));
      modules.set(source.name, loaded);
    }
    return loaded;
  };
  const instantiate = async (source: WasmSource) =>
    (await load(source)).exports;
  const gemm = async (source: WasmSource, params: GemmParams) => {
    const { module, exports } = await load(source);
    return threads.wrap(module, exports.gemm as GemmExport, params);
  };
  const split = async (source: WasmSource, name: string, spec: SplitSpec) => {
    const { module, exports } = await load(source);
    // deno-lint-ignore no-explicit-any
    return threads.split(module, name, exports[name] as any, spec);
  };
  const buffer = memory.buffer as ArrayBuffer;
  const address = (name: string | undefined) =>
    name === undefined || name === "" ? 0 : layout.slots.get(name)!.address;
  const view = (name: string): TensorData => {
    const s = layout.slots.get(name)!;
    return viewOf(buffer, s.dtype, s.address, s.length);
  };
  let persistent = layout.persistentAddress;
  const steps: Step[] = [];
  for (const [i, node] of graph.nodes.entries()) {
    const rt: KernelRuntime = {
      memory,
      input: (k) => address(node.inputs[k]),
      output: (k) => address(node.outputs[k]),
      inputView: (k) => view(node.inputs[k]),
      outputView: (k) => view(node.outputs[k]),
      scratch: layout.scratchAddress,
      persistent,
      version: (k) => versions.get(node.inputs[k]) ?? 0,
      shared: threads.threads > 1,
      instantiate,
      gemm,
      split,
    };
    persistent += Math.ceil(persistentBytes[i] / 64) * 64;
    steps.push(await kernels[i].build(rt));
  }
  return steps;
}
