/**
 * Memory planning: one arena for every value a static graph computes, with
 * each value at a fixed byte offset chosen so that values alive at the same
 * time never overlap. The runtime allocates the arena once; tensors are views
 * into it.
 *
 * Placement is greedy by size (largest first, lowest offset that conflicts
 * with no already-placed value whose lifetime overlaps), the strategy
 * TensorFlow Lite's arena planner uses: large activations get packed first,
 * small ones fill the gaps.
 *
 * @module
 */

import { BYTES_PER_ELEMENT } from "../ir/dtype.ts";
import { type Graph, isStatic } from "../ir/graph.ts";

/** Where one value lives and when. */
export interface Placement {
  /** Byte offset in the arena (a multiple of the alignment). */
  readonly offset: number;
  /** Bytes it occupies. */
  readonly bytes: number;
  /** Index of the node that defines it (-1 for graph inputs). */
  readonly first: number;
  /** Index of the last node that reads it (`nodes.length` for graph outputs). */
  readonly last: number;
}

/** The arena layout of a graph. */
export interface MemoryPlan {
  /** Placement of every graph input and node output. */
  readonly placements: ReadonlyMap<string, Placement>;
  /** Arena size in bytes. */
  readonly arenaBytes: number;
  /**
   * The largest total size of values alive at one time: no plan can use
   * less, so `arenaBytes / peakLiveBytes` measures the packing.
   */
  readonly peakLiveBytes: number;
}

/** A value the planner cannot size. */
export class MemoryPlanError extends Error {
  /** Names the value and why. */
  constructor(value: string, why: string) {
    super(`Cannot plan memory for '${value}': ${why}`);
    this.name = "MemoryPlanError";
  }
}

const align = (x: number, to: number) => Math.ceil(x / to) * to;

/** Lifetimes [first, last] of every non-constant value, in node-index time. */
function lifetimes(graph: Graph): Map<string, { first: number; last: number }> {
  const spans = new Map<string, { first: number; last: number }>();
  for (const name of graph.inputs) spans.set(name, { first: -1, last: -1 });
  graph.nodes.forEach((node, i) => {
    for (const name of node.inputs) {
      const span = spans.get(name);
      if (span !== undefined) span.last = i;
    }
    for (const name of node.outputs) {
      if (name !== "") spans.set(name, { first: i, last: i });
    }
  });
  for (const name of graph.outputs) {
    const span = spans.get(name);
    if (span !== undefined) span.last = graph.nodes.length;
  }
  return spans;
}

function sizeOf(graph: Graph, name: string, alignment: number): number {
  const type = graph.types.get(name);
  if (type === undefined) {
    throw new MemoryPlanError(name, "it has no type; run infer-shapes first.");
  }
  if (!isStatic(type)) {
    throw new MemoryPlanError(name, `its shape [${type.shape}] is not static.`);
  }
  const elements = (type.shape as number[]).reduce((a, b) => a * b, 1);
  return align(
    Math.max(elements * BYTES_PER_ELEMENT[type.dtype], 1),
    alignment,
  );
}

/** Plans the arena of a static graph; `alignment` is in bytes (16 suits WASM SIMD). */
export function planMemory(graph: Graph, alignment = 16): MemoryPlan {
  const spans = lifetimes(graph);
  const values = [...spans].map(([name, span]) => ({
    name,
    ...span,
    bytes: sizeOf(graph, name, alignment),
  }));
  values.sort((a, b) =>
    b.bytes - a.bytes || a.first - b.first || (a.name < b.name ? -1 : 1)
  );
  const placed: {
    offset: number;
    bytes: number;
    first: number;
    last: number;
  }[] = [];
  const placements = new Map<string, Placement>();
  let arenaBytes = 0;
  for (const v of values) {
    const conflicts = placed
      .filter((p) => p.first <= v.last && v.first <= p.last)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const c of conflicts) {
      if (offset + v.bytes <= c.offset) break;
      offset = Math.max(offset, c.offset + c.bytes);
    }
    const placement = { offset, bytes: v.bytes, first: v.first, last: v.last };
    placed.push(placement);
    placements.set(v.name, placement);
    arenaBytes = Math.max(arenaBytes, offset + v.bytes);
  }
  let peakLiveBytes = 0;
  for (let t = -1; t <= graph.nodes.length; t++) {
    let live = 0;
    for (const v of values) if (v.first <= t && t <= v.last) live += v.bytes;
    peakLiveBytes = Math.max(peakLiveBytes, live);
  }
  return { placements, arenaBytes, peakLiveBytes };
}
