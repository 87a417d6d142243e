/**
 * The contract between the engine and its kernels.
 *
 * A kernel is chosen per node when the engine is created, in two phases: a
 * {@linkcode KernelFactory} looks at the node's static types and constant
 * operands and says whether it handles the node and how much scratch and
 * persistent memory it needs; once memory is allocated, {@linkcode Kernel.build}
 * turns that into a {@linkcode Step}: a closure over fixed addresses and
 * views, so a run does no lookups, allocation or dispatch beyond one call
 * per node.
 *
 * @module
 */

import type { GemmExport, GemmParams } from "../../../src/codegen/gemm/mod.ts";
import type { DType, TensorData } from "../../../src/ir/dtype.ts";
import type { Node } from "../../../src/ir/graph.ts";
import type { Tensor } from "../../../src/ir/tensor.ts";
import type { SplitPlan, SplitSpec } from "../threads.ts";

export type { SplitPlan, SplitSpec };

/** One node's work at run time. */
export type Step = () => void;

/** A value's static type. */
export interface StaticType {
  /** Element type. */
  readonly dtype: DType;
  /** Shape. */
  readonly shape: readonly number[];
}

/** What a factory sees of a node at create time. */
export interface NodeInfo {
  /** The node. */
  readonly node: Node;
  /** Input types; `undefined` for omitted optional inputs. */
  readonly inputs: readonly (StaticType | undefined)[];
  /** Output types; `undefined` for omitted optional outputs. */
  readonly outputs: readonly (StaticType | undefined)[];
  /**
   * Input values fixed at create time (graph constants that are not
   * parameters the caller may replace), else `undefined`.
   */
  readonly fixed: readonly (Tensor | undefined)[];
  /**
   * Whether input `i` keeps its value across runs (a graph constant or a
   * resident input), so work derived from it can be cached until
   * {@linkcode KernelRuntime.version} changes.
   */
  isConstant(i: number): boolean;
}

/** A generated WebAssembly module that imports `env.memory`. */
export interface WasmSource {
  /** Unique name, used to instantiate each module once per engine. */
  readonly name: string;
  /** The module binary. */
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/** What a kernel can use once memory exists. */
export interface KernelRuntime {
  /** The engine's memory; it never grows, so views stay valid. */
  readonly memory: WebAssembly.Memory;
  /** Byte address of input `i` (0 when omitted). */
  input(i: number): number;
  /** Byte address of output `i` (0 when omitted). */
  output(i: number): number;
  /** A view of input `i`'s elements. */
  inputView(i: number): TensorData;
  /** A view of output `i`'s elements. */
  outputView(i: number): TensorData;
  /** Byte address of the shared scratch region (64-byte aligned). */
  readonly scratch: number;
  /** Byte address of this kernel's persistent bytes (64-byte aligned). */
  readonly persistent: number;
  /**
   * A counter that changes whenever input `i` is written from outside the
   * graph (feeds, `setConstant`, resident state carried over), so a kernel
   * can tell when work cached from it (a packed weight) is stale.
   */
  version(i: number): number;
  /**
   * Whether the memory is shared with worker threads: every module must
   * then import it shared (the generators' `shared` option).
   */
  readonly shared: boolean;
  /** The exports of a module instantiated on the engine's memory (cached). */
  instantiate(source: WasmSource): Promise<WebAssembly.Exports>;
  /**
   * The `gemm` export of GEMM module `source` (tile `params`), same
   * signature: with worker threads each call's row tiles are split between
   * them, with the same results bit for bit (every output element is
   * computed by the same code over the same k order).
   */
  gemm(source: WasmSource, params: GemmParams): Promise<GemmExport>;
  /**
   * Export `name` of module `source`, same signature: with worker threads
   * each call is divided by `spec` into ranges the threads share, returning
   * the OR of the parts' nonzero i32 results — for kernels whose units
   * (elements, rows, columns) are computed independently, so the results
   * are the same bit for bit.
   */
  split(
    source: WasmSource,
    name: string,
    spec: SplitSpec,
    // deno-lint-ignore no-explicit-any
  ): Promise<(...args: any[]) => any>;
}

/** A kernel chosen for one node. */
export interface Kernel {
  /** Scratch bytes it uses while running (shared with every other node). */
  readonly scratchBytes?: number;
  /** Bytes it keeps across runs. */
  readonly persistentBytes?: number;
  /** Builds the step over the engine's memory. */
  build(rt: KernelRuntime): Step | Promise<Step>;
}

/**
 * Chooses a kernel for a node, or returns `undefined` when this
 * implementation does not cover the node's types or attributes.
 */
export type KernelFactory = (info: NodeInfo) => Kernel | undefined;

/** Factories by IR operator name. */
export type KernelTable = Readonly<Record<string, KernelFactory>>;

/** `x` rounded up to a multiple of 64: scratch offsets on cache-line bounds. */
export const align64 = (x: number): number => Math.ceil(x / 64) * 64;
