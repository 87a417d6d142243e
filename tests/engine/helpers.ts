/**
 * Shared checks of the engine tests: relative error in the ∞-norm, and the
 * one-memory, one-arena layout.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Engine } from "../../runtime/engine/mod.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { planMemory } from "../../src/plan/memory_plan.ts";

/**
 * ‖a − b‖∞ / ‖b‖∞ over the elements that are not NaN in both (shapes must
 * match); a NaN in only one of them is an infinite error.
 */
export function relativeError(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`Shapes [${a.shape}] and [${b.shape}] differ.`);
  }
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.data.length; i++) {
    const [x, y] = [a.data[i], b.data[i]];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    diff = Math.max(diff, x === y ? 0 : Math.abs(x - y));
    if (Number.isNaN(diff)) return Infinity;
    norm = Math.max(norm, Math.abs(y));
  }
  return diff / Math.max(norm, 1e-30);
}

/**
 * Asserts the engine holds everything in its one memory, whose arena is the
 * planner's arena for the graph the engine runs, and that the memory was
 * sized once to the layout.
 */
export function assertOneArena(engine: Engine): void {
  const { layout } = engine;
  const planned = planMemory(engine.graph, 16).arenaBytes;
  assert.equal(layout.plan.arenaBytes, planned);
  assert.equal(
    layout.scratchAddress - layout.arenaAddress,
    Math.ceil(planned / 64) * 64,
  );
  assert.equal(engine.memoryBytes, layout.totalBytes);
  assert.ok(layout.totalBytes >= layout.scratchAddress + layout.scratchBytes);
}
