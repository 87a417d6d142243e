/**
 * The engine's memory map, fixed before the memory is allocated:
 *
 * ```
 * [0, 64)           reserved: address 0 means "none" to the kernels
 * constants         every graph constant, then the resident inputs (state
 *                   that outlives a run, e.g. master weights and moments)
 * persistent        kernel-owned bytes kept across runs (e.g. packed weights)
 * arena             every input and computed value, at the offsets the
 *                   memory planner chose (values alive at once never overlap)
 * scratch           one region every kernel may use while it runs
 * ```
 *
 * All regions are 64-byte aligned, so SIMD loads never straddle cache lines
 * at a region start and f64 views are always aligned.
 *
 * A resident input `N` whose next value `N@next` an optimizer node writes
 * element by element shares its slot with `N@next` ({@linkcode inPlaceState})
 * when that node is the last to read `N`: the update happens in place, and
 * neither the node nor the carry into the next run copies the state.
 *
 * @module
 */

import type { DType } from "../../src/ir/dtype.ts";
import { type Graph, isStatic, withParts } from "../../src/ir/graph.ts";
import { sizeOf } from "../../src/ir/tensor.ts";
import { type MemoryPlan, planMemory } from "../../src/plan/memory_plan.ts";
import { nextName } from "../../src/passes/optimizer.ts";
import { EngineError } from "./errors.ts";
import { checkStorable, elementBytes } from "./views.ts";

/** Bytes at address 0 that hold nothing. */
export const RESERVED_BYTES = 64;
/** Alignment of every region and every constant. */
export const REGION_ALIGN = 64;
const PAGE = 65536;

const align = (x: number, to: number) => Math.ceil(x / to) * to;

/** Where one value lives. */
export interface Slot {
  /** Element type. */
  readonly dtype: DType;
  /** Static shape. */
  readonly shape: readonly number[];
  /** Element count. */
  readonly length: number;
  /** Byte address in engine memory. */
  readonly address: number;
}

/** The whole memory map. */
export interface Layout {
  /** Every constant, resident input, graph input and computed value. */
  readonly slots: ReadonlyMap<string, Slot>;
  /** The planner's arena, as it planned it. */
  readonly plan: MemoryPlan;
  /** Byte address of the arena. */
  readonly arenaAddress: number;
  /** Byte address of the persistent kernel region. */
  readonly persistentAddress: number;
  /** Byte address of the scratch region. */
  readonly scratchAddress: number;
  /** Bytes of the scratch region. */
  readonly scratchBytes: number;
  /** Bytes of memory in all, a whole number of 64 KiB pages. */
  readonly totalBytes: number;
}

/** The static type of `name`, or an error saying what is missing. */
export function staticType(
  graph: Graph,
  name: string,
): { dtype: DType; shape: number[] } {
  const constant = graph.constants.get(name);
  if (constant !== undefined) {
    return { dtype: constant.dtype, shape: [...constant.shape] };
  }
  const type = graph.types.get(name);
  if (type === undefined || !isStatic(type)) {
    throw new EngineError(
      `Value '${name}' has no static type; run the forward pipeline (specialize, infer-shapes) before Engine.create.`,
      name,
    );
  }
  checkStorable(type.dtype, name);
  return { dtype: type.dtype, shape: type.shape as number[] };
}

/**
 * Ops that may write an output over one of their inputs, as [output,
 * input] pairs: each output element depends on the same-index elements of
 * the inputs only, read before it is written. AdamW: w, m, v.
 */
const IN_PLACE: Readonly<
  Record<string, readonly (readonly [number, number])[]>
> = { AdamW: [[0, 0], [1, 2], [2, 3]] };

/**
 * The resident inputs whose `@next` output can share their slot: written
 * by an {@linkcode IN_PLACE} op from that very input, which no later node
 * reads (and no graph output exposes). Maps `N@next` to `N`.
 */
export function inPlaceState(
  graph: Graph,
  resident: readonly string[],
): Map<string, string> {
  const lastRead = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    for (const input of node.inputs) lastRead.set(input, i);
  });
  const shared = new Map<string, string>();
  graph.nodes.forEach((node, i) => {
    for (const [o, k] of IN_PLACE[node.op] ?? []) {
      const state = node.inputs[k], next = node.outputs[o];
      if (
        state !== undefined && next === nextName(state) &&
        resident.includes(state) && lastRead.get(state) === i &&
        !graph.outputs.includes(state) &&
        node.inputs.filter((x) => x === state).length === 1
      ) {
        shared.set(next, state);
      }
    }
  });
  return shared;
}

/**
 * Lays out `graph`'s memory. `resident` inputs are taken out of the
 * planner's view (they live with the constants); `persistentBytes` and
 * `scratchBytes` are what the kernels asked for.
 */
export function layOut(
  graph: Graph,
  resident: readonly string[],
  persistentBytes: number,
  scratchBytes: number,
): Layout {
  const residentSet = new Set(resident);
  const planned = withParts(graph, {
    inputs: graph.inputs.filter((i) => !residentSet.has(i)),
  });
  const plan = planMemory(planned, 16);
  const slots = new Map<string, Slot>();
  let top = RESERVED_BYTES;
  const place = (name: string) => {
    const { dtype, shape } = staticType(graph, name);
    const length = sizeOf(shape);
    slots.set(name, { dtype, shape, length, address: top });
    top = align(top + Math.max(1, length * elementBytes(dtype)), REGION_ALIGN);
  };
  for (const name of graph.constants.keys()) place(name);
  for (const name of resident) place(name);
  const persistentAddress = top;
  const arenaAddress = align(top + persistentBytes, REGION_ALIGN);
  const inPlace = inPlaceState(graph, resident);
  for (const [name, p] of plan.placements) {
    const { dtype, shape } = staticType(graph, name);
    const state = inPlace.get(name);
    slots.set(name, {
      dtype,
      shape,
      length: sizeOf(shape),
      address: state === undefined
        ? arenaAddress + p.offset
        : slots.get(state)!.address,
    });
  }
  const scratchAddress = align(arenaAddress + plan.arenaBytes, REGION_ALIGN);
  const totalBytes = align(scratchAddress + scratchBytes, PAGE);
  if (totalBytes > 4 * 1024 ** 3) {
    throw new EngineError(
      `Graph '${graph.name}' needs ${totalBytes} bytes, more than a 32-bit WebAssembly memory holds; lower the batch or sequence length.`,
    );
  }
  return {
    slots,
    plan,
    arenaAddress,
    persistentAddress,
    scratchAddress,
    scratchBytes,
    totalBytes,
  };
}
