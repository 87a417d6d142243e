/**
 * The reference fallback: a node no kernel covers runs through its
 * operator's reference `evaluate` on copies of its inputs, and the results
 * are copied into its arena slots. It is correct but slow, so the engine
 * lists every node that takes it (`Engine.fallbacks()`).
 *
 * @module
 */

import type { Node } from "../../../src/ir/graph.ts";
import type { Tensor } from "../../../src/ir/tensor.ts";
import { getOp } from "../../../src/ops/mod.ts";
import { EngineError } from "../errors.ts";
import type { Kernel, NodeInfo, Step } from "./types.ts";

/** Throws unless `t` has the static type the plan gave output `k`. */
function checkOutput(node: Node, k: number, t: Tensor, info: NodeInfo): void {
  const want = info.outputs[k]!;
  if (t.dtype !== want.dtype || t.shape.join() !== want.shape.join()) {
    throw new EngineError(
      `${node.op} node '${node.name}': output ${k} is ${t.dtype}[${t.shape}], but the graph types it ${want.dtype}[${want.shape}].`,
      node.name,
    );
  }
}

/** The reference evaluator as a kernel for `info.node`. */
export function referenceKernel(info: NodeInfo): Kernel {
  const { node } = info;
  // The reference MatMul knows nothing of the engine's fusion marks.
  const marked = node.op === "MatMul" &&
    (node.inputs.length > 2 || "transA" in node.attrs ||
      "transB" in node.attrs);
  if (marked) {
    throw new EngineError(
      `MatMul node '${node.name}' carries the engine's fusion marks but no kernel accepts it; create the engine with { fuse: false }.`,
      node.name,
    );
  }
  const op = getOp(node.op);
  return {
    build(rt): Step {
      const inputs = info.inputs.map((t, i) =>
        t === undefined ? undefined : { t, view: rt.inputView(i) }
      );
      const outputs = info.outputs.map((t, k) =>
        t === undefined ? undefined : rt.outputView(k)
      );
      return () => {
        const values = inputs.map((x): Tensor | undefined =>
          x === undefined
            ? undefined
            : { dtype: x.t.dtype, shape: x.t.shape, data: x.view.slice() }
        );
        const results = op.evaluate(values, node);
        outputs.forEach((view, k) => {
          if (view === undefined || results[k] === undefined) return;
          checkOutput(node, k, results[k], info);
          view.set(results[k].data);
        });
      };
    },
  };
}
