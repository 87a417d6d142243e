/**
 * The execution engine: runs a static-shape IR graph (an inference forward
 * graph or a whole training step) on one `WebAssembly.Memory` allocated up
 * front and never grown.
 *
 * - Memory: constants and resident state, kernels' persistent bytes, the
 *   planner's activation arena, and one scratch region (see `layout.ts`).
 *   Tensors are views into it; since it never grows, views built at create
 *   time stay valid.
 * - Rewrites (`fuse.ts`), before planning: transposes feeding products and
 *   per-column bias Adds after them fold into the GEMM calls; then a
 *   recipe's 8-bit quantised products become int8 GEMMs on the mantissas
 *   (`lower_quantize.ts`).
 * - Dispatch: each node gets the first kernel of its operator's list that
 *   accepts it (generated WASM GEMM and f32 kernels, then TypeScript ones);
 *   the rest run on the reference evaluator and are listed by
 *   {@linkcode Engine.fallbacks}.
 * - Outputs of {@linkcode Engine.run} are copies; with `{ views: true }` they
 *   are views into engine memory, valid until the next `run` or
 *   `setConstant` on this engine.
 * - Resident state: inputs named in `options.resident` live in engine memory
 *   between runs; after each run every output `N@next` (the optimizer pass's
 *   convention) is copied into resident input `N`, so a training loop feeds
 *   only the batch.
 *
 * @example
 * ```ts
 * const engine = await Engine.create(forwardGraph);
 * const { logits } = Object.fromEntries(engine.run({ input_ids, attention_mask, token_type_ids }));
 * ```
 * @module
 */

import {
  checkGemmParams,
  type GemmParams,
  type GemmVariant,
  selectF32Params,
  selectS8Variant,
} from "../../src/codegen/gemm/mod.ts";
import { isFloat, type TensorData } from "../../src/ir/dtype.ts";
import { type Graph, withParts } from "../../src/ir/graph.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { nextName } from "../../src/passes/optimizer.ts";
import { EngineError } from "./errors.ts";
import { fuseBiases, fuseTransposes } from "./fuse.ts";
import { s8Params } from "./kernels/gemm_source.ts";
import { lowerQuantized } from "./lower_quantize.ts";
import {
  dispatchTable,
  type Kernel,
  type NodeInfo,
  referenceKernel,
  type Step,
  type WasmSource,
} from "./kernels/mod.ts";
import { type Layout, layOut, type Slot, staticType } from "./layout.ts";
import { buildSteps } from "./runtime.ts";
import { EngineThreads, threadRegionBytes, usableThreads } from "./threads.ts";
import { viewOf } from "./views.ts";

/** Options of {@linkcode Engine.create}. */
export interface EngineOptions {
  /** f32 GEMM kernel; default the tuned one for this machine (`selectF32Params`). */
  readonly gemm?: GemmParams;
  /**
   * Inner-product variant of the int8 GEMMs (`dot16`, `relaxed` or
   * `relaxed8`); default the fastest exact one this engine runs
   * (`selectS8Variant`). Every variant computes the same integers; a
   * training artifact pins the portable `relaxed` so it ships the modules
   * any relaxed-SIMD engine will ask for.
   */
  readonly int8?: GemmVariant;
  /** Inputs kept in engine memory across runs, with their first values. */
  readonly resident?: ReadonlyMap<string, Tensor>;
  /**
   * Fold last-two-dim transposes and per-column bias Adds into products
   * and lower 8-bit quantised products to int8 GEMMs (default true); see
   * `fuse.ts` and `lower_quantize.ts`.
   */
  readonly fuse?: boolean;
  /**
   * Compiled kernel modules by name (the `.wasm` files a training artifact
   * ships): a kernel whose module is here runs it, not the bytes it generated.
   */
  readonly modules?: ReadonlyMap<string, WebAssembly.Module>;
  /**
   * Sees every kernel module the engine instantiates, once per name (the
   * artifact compiler records them; a loader may throw to refuse one).
   */
  readonly onModule?: (source: WasmSource) => void;
  /**
   * Values of the graph as the engine runs it (see {@linkcode Engine.graph})
   * kept alive to the end of each run as extra outputs, so tests can read
   * intermediate results without changing what the rewrites do.
   */
  readonly keep?: readonly string[];
  /**
   * Threads per GEMM call, this one included (default 1): with more, the
   * memory is shared and worker threads take rows of every product
   * (`threads.ts`), with the same results bit for bit. Where shared memory
   * or workers are missing it quietly stays 1 (see
   * {@linkcode Engine.threads}). Call {@linkcode Engine.close} to stop them.
   */
  readonly threads?: number;
}

/** A node that runs on the reference evaluator. */
export interface Fallback {
  /** Node name. */
  readonly node: string;
  /** Its operator. */
  readonly op: string;
}

/** Feeds by input name. */
export type Feeds =
  | ReadonlyMap<string, Tensor>
  | Readonly<Record<string, Tensor>>;

/** The f32 GEMM the engine uses unless told otherwise: the one tuned for this machine. */
export function defaultGemm(): GemmParams {
  return selectF32Params();
}

/**
 * The int8 GEMM variant `requested`, checked to be one (whether it runs
 * exactly here is checked where an int8 product needs it); by default the
 * fastest that runs here.
 */
function int8VariantOf(requested: GemmVariant | undefined): GemmVariant {
  if (requested === undefined) return selectS8Variant();
  try {
    checkGemmParams(s8Params("f32", requested));
  } catch {
    throw new EngineError(
      `int8 must be one of dot16, relaxed, relaxed8; got '${requested}'.`,
    );
  }
  return requested;
}

/** The parts {@linkcode Engine.create} assembles. */
interface EngineParts {
  readonly graph: Graph;
  readonly layout: Layout;
  readonly memory: WebAssembly.Memory;
  readonly steps: readonly Step[];
  readonly versions: Map<string, number>;
  readonly fallbacks: readonly Fallback[];
  readonly resident: readonly string[];
  readonly threads: EngineThreads;
}

/** A compiled graph bound to its memory. */
export class Engine {
  /** The graph as the engine runs it (after fusion, see `fuse.ts`). */
  readonly graph: Graph;
  /** The memory map. */
  readonly layout: Layout;
  /** The one memory every tensor lives in. */
  readonly memory: WebAssembly.Memory;
  readonly #steps: readonly Step[];
  readonly #versions: Map<string, number>;
  readonly #fallbacks: readonly Fallback[];
  readonly #resident: readonly string[];
  readonly #views = new Map<string, TensorData>();
  readonly #threads: EngineThreads;

  private constructor(parts: EngineParts) {
    this.#threads = parts.threads;
    this.graph = parts.graph;
    this.layout = parts.layout;
    this.memory = parts.memory;
    this.#steps = parts.steps;
    this.#versions = parts.versions;
    this.#fallbacks = parts.fallbacks;
    this.#resident = parts.resident;
  }

  /** Plans memory, allocates it once, copies constants in and builds every kernel. */
  static async create(
    graph: Graph,
    options: EngineOptions = {},
  ): Promise<Engine> {
    const rewritten = options.fuse === false
      ? graph
      : lowerQuantized(fuseBiases(fuseTransposes(graph)));
    const keep = (options.keep ?? []).filter((v) =>
      !rewritten.outputs.includes(v)
    );
    const g = keep.length === 0
      ? rewritten
      : withParts(rewritten, { outputs: [...rewritten.outputs, ...keep] });
    const resident = options.resident ?? new Map<string, Tensor>();
    for (const name of resident.keys()) {
      if (!g.inputs.includes(name)) {
        throw new EngineError(
          `Resident value '${name}' is not a graph input.`,
          name,
        );
      }
    }
    const isConstant = (name: string) =>
      g.constants.has(name) || resident.has(name);
    const table = dispatchTable(
      options.gemm ?? defaultGemm(),
      int8VariantOf(options.int8),
    );
    const fallbacks: Fallback[] = [];
    const kernels: Kernel[] = g.nodes.map((node) => {
      const typeOf = (n: string) => n === "" ? undefined : staticType(g, n);
      const fixed = node.inputs.map((n) => {
        const t = g.constants.get(n);
        return t !== undefined && !isFloat(t.dtype) ? t : undefined;
      });
      const info: NodeInfo = {
        node,
        inputs: node.inputs.map(typeOf),
        outputs: node.outputs.map(typeOf),
        fixed,
        isConstant: (i) => isConstant(node.inputs[i]),
      };
      for (const factory of table.get(node.op) ?? []) {
        const kernel = factory(info);
        if (kernel !== undefined) return kernel;
      }
      fallbacks.push({ node: node.name, op: node.op });
      return referenceKernel(info);
    });
    const threadCount = usableThreads(options.threads ?? 1);
    if (threadCount > 1 && options.modules !== undefined) {
      throw new EngineError(
        "Shipped kernel modules import an unshared memory: run them with threads = 1.",
      );
    }
    const persistent = kernels.map((k) => k.persistentBytes ?? 0);
    const kernelBytes = persistent.reduce(
      (a, b) => a + Math.ceil(b / 64) * 64,
      0,
    );
    const scratch = Math.max(0, ...kernels.map((k) => k.scratchBytes ?? 0));
    const layout = layOut(
      g,
      [...resident.keys()],
      kernelBytes + threadRegionBytes(threadCount),
      scratch,
    );
    const pages = layout.totalBytes / 65536;
    const memory = new WebAssembly.Memory({
      initial: pages,
      maximum: pages,
      shared: threadCount > 1,
    });
    const threads = new EngineThreads(
      memory,
      threadCount,
      layout.persistentAddress + kernelBytes,
    );
    const versions = new Map<string, number>();
    const steps = await buildSteps(
      g,
      layout,
      memory,
      kernels,
      persistent,
      versions,
      threads,
      { compiled: options.modules, onModule: options.onModule },
    );
    await threads.start();
    const engine = new Engine({
      graph: g,
      layout,
      memory,
      steps,
      versions,
      fallbacks,
      resident: [...resident.keys()],
      threads,
    });
    for (const [name, t] of g.constants) engine.#write(name, t);
    for (const [name, t] of resident) engine.#write(name, t);
    return engine;
  }

  /** Threads each GEMM and split kernel call runs on, this one included. */
  get threads(): number {
    return this.#threads.threads;
  }

  /** GEMM calls split between the threads so far (0 on one thread). */
  get splitGemmCalls(): number {
    return this.#threads.splitGemmCalls;
  }

  /**
   * Calls of other kernels (elementwise, row-wise, packers) split between
   * the threads so far (0 on one thread).
   */
  get splitKernelCalls(): number {
    return this.#threads.splitKernelCalls;
  }

  /**
   * Stops the worker threads (no-op with one thread). The engine still
   * runs afterwards, on this thread alone.
   */
  close(): void {
    this.#threads.close();
  }

  /** Same as {@linkcode Engine.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Bytes of engine memory (allocated once). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Nodes that run on the reference evaluator, in graph order. */
  fallbacks(): readonly Fallback[] {
    return this.#fallbacks;
  }

  /**
   * Runs the graph on `feeds` (every non-resident input) and returns the
   * graph outputs: copies, or with `views` engine-memory views valid until
   * the next `run` or `setConstant`.
   */
  run(feeds: Feeds, options: { views?: boolean } = {}): Map<string, Tensor> {
    this.#feed(feeds);
    for (const step of this.#steps) step();
    const out = new Map<string, Tensor>();
    for (const name of this.graph.outputs) {
      const { dtype, shape } = this.#slot(name);
      const view = this.#view(name);
      out.set(name, {
        dtype,
        shape,
        data: options.views ? view : view.slice(),
      });
    }
    this.#carryState();
    return out;
  }

  /**
   * Runs like {@linkcode Engine.run}, outputs left in memory, and returns
   * the milliseconds spent per operator, largest first.
   */
  profile(
    feeds: Feeds,
    now: () => number = () => performance.now(),
  ): Map<string, number> {
    this.#feed(feeds);
    const byOp = new Map<string, number>();
    this.#steps.forEach((step, i) => {
      const t0 = now();
      step();
      const op = this.graph.nodes[i].op;
      byOp.set(op, (byOp.get(op) ?? 0) + now() - t0);
    });
    this.#carryState();
    return new Map([...byOp].sort((a, b) => b[1] - a[1]));
  }

  /** Replaces constant or resident input `name` with `t` (same dtype and shape). */
  setConstant(name: string, t: Tensor): void {
    if (!this.graph.constants.has(name) && !this.#resident.includes(name)) {
      throw new EngineError(
        `'${name}' is neither a constant nor a resident input of graph '${this.graph.name}'.`,
        name,
      );
    }
    const c = this.graph.constants.get(name);
    if (c !== undefined && !isFloat(c.dtype)) {
      throw new EngineError(
        `Constant '${name}' is ${c.dtype}: kernels read it once at create time, so it cannot be replaced.`,
        name,
      );
    }
    this.#write(name, t);
  }

  /** A copy of the current value of a constant, resident input or output of the last run. */
  value(name: string): Tensor {
    const { dtype, shape } = this.#slot(name);
    return { dtype, shape, data: this.#view(name).slice() };
  }

  #slot(name: string): Slot {
    const slot = this.layout.slots.get(name);
    if (slot === undefined) {
      throw new EngineError(
        `Graph '${this.graph.name}' has no value '${name}'.`,
        name,
      );
    }
    return slot;
  }

  #view(name: string): TensorData {
    let view = this.#views.get(name);
    if (view === undefined) {
      const s = this.#slot(name);
      view = viewOf(
        this.memory.buffer as ArrayBuffer,
        s.dtype,
        s.address,
        s.length,
      );
      this.#views.set(name, view);
    }
    return view;
  }

  #write(name: string, t: Tensor): void {
    const slot = this.#slot(name);
    if (t.dtype !== slot.dtype || t.shape.join() !== slot.shape.join()) {
      throw new EngineError(
        `'${name}' must be ${slot.dtype}[${slot.shape}], got ${t.dtype}[${t.shape}].`,
        name,
      );
    }
    this.#view(name).set(t.data);
    this.#versions.set(name, (this.#versions.get(name) ?? 0) + 1);
  }

  #feed(feeds: Feeds): void {
    const fed = feeds instanceof Map ? feeds : new Map(Object.entries(feeds));
    for (const name of this.graph.inputs) {
      const t = fed.get(name);
      if (t !== undefined) this.#write(name, t);
      else if (!this.#resident.includes(name)) {
        const { dtype, shape } = this.#slot(name);
        throw new EngineError(
          `Input '${name}' was not fed; feed it as a ${dtype}[${shape}] tensor.`,
          name,
        );
      }
    }
  }

  /**
   * Copies each output `N@next` into resident input `N`, for the next run
   * (nothing to copy where they share a slot: updated in place).
   */
  #carryState(): void {
    for (const name of this.#resident) {
      const next = nextName(name);
      if (!this.layout.slots.has(next) || !this.graph.outputs.includes(next)) {
        continue;
      }
      if (this.#slot(next).address !== this.#slot(name).address) {
        this.#view(name).set(this.#view(next));
      }
      this.#versions.set(name, (this.#versions.get(name) ?? 0) + 1);
    }
  }
}
