/**
 * The activation memory a training step keeps from its forward pass for
 * its backward pass: bytes of the values a forward node computes that a
 * backward node (autodiff names them `…@grad…`) reads. On the engine's
 * graph (after `lower_quantize.ts`), a product's saved operand is its int8
 * mantissas when the recipe lowers it, its f32 values otherwise.
 *
 * @module
 */

import { BYTES_PER_ELEMENT } from "../src/ir/dtype.ts";
import type { Graph } from "../src/ir/graph.ts";
import { sizeOf } from "../src/ir/tensor.ts";

/** Whether autodiff emitted `name` (a backward node). */
const isBackward = (name: string) => name.includes("@grad");

/** Bytes of forward values read by the backward pass of `graph`. */
export function savedActivationBytes(graph: Graph): number {
  const readByBackward = new Set(
    graph.nodes.filter((n) => isBackward(n.name)).flatMap((n) => n.inputs),
  );
  let bytes = 0;
  for (const node of graph.nodes) {
    if (isBackward(node.name) || node.name.startsWith("optimizer/")) continue;
    for (const v of node.outputs) {
      const type = graph.types.get(v);
      if (v === "" || !readByBackward.has(v) || type === undefined) continue;
      bytes += sizeOf(type.shape as number[]) * BYTES_PER_ELEMENT[type.dtype];
    }
  }
  return bytes;
}
