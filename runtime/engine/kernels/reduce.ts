/**
 * Reductions (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare,
 * ReduceL2) in double, rounded once on store as the reference does. The
 * input is walked as rows of its last dim; each row adds into the output row
 * it reduces to (a broadcast read backwards), so the bias gradients of
 * BERT's backward pass — sums over batch and sequence — stream contiguously.
 *
 * @module
 */

import { intAttr } from "../../../src/ir/graph.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import { rowPlan } from "./broadcast.ts";
import type { Kernel, KernelTable, NodeInfo, Step } from "./types.ts";

interface Reduction {
  readonly init: number;
  readonly add: (acc: number, x: number) => number;
  readonly finish: (acc: number, count: number) => number;
}

const sum = (acc: number, x: number) => acc + x;
const same = (acc: number) => acc;

const REDUCTIONS: Readonly<Record<string, Reduction>> = {
  ReduceSum: { init: 0, add: sum, finish: same },
  ReduceMean: { init: 0, add: sum, finish: (acc, n) => acc / n },
  ReduceMax: { init: -Infinity, add: Math.max, finish: same },
  ReduceMin: { init: Infinity, add: Math.min, finish: same },
  ReduceSumSquare: { init: 0, add: (a, x) => a + x * x, finish: same },
  ReduceL2: { init: 0, add: (a, x) => a + x * x, finish: Math.sqrt },
};

/** Which axes are reduced, by the opset-18 rules; `undefined` if unknown. */
function reducedAxes(info: NodeInfo, rank: number): boolean[] | undefined {
  const axesName = info.node.inputs[1];
  if (axesName !== undefined && axesName !== "" && !info.fixed[1]) {
    return undefined;
  }
  const axes = info.fixed[1] === undefined
    ? []
    : Array.from(info.fixed[1].data);
  if (axes.length === 0) {
    const noop = intAttr(info.node.attrs, "noop_with_empty_axes", 0) !== 0;
    return new Array<boolean>(rank).fill(!noop);
  }
  const flags = new Array<boolean>(rank).fill(false);
  for (const a of axes) flags[a < 0 ? a + rank : a] = true;
  return flags;
}

function reduce(op: string) {
  const r = REDUCTIONS[op];
  return (info: NodeInfo): Kernel | undefined => {
    const x = info.inputs[0];
    if (x === undefined || info.outputs[0] === undefined) return undefined;
    const flags = reducedAxes(info, x.shape.length);
    if (flags === undefined) return undefined;
    const kept = x.shape.map((d, i) => flags[i] ? 1 : d);
    const plan = rowPlan([kept], x.shape);
    const outLength = sizeOf(kept);
    const count = sizeOf(x.shape) / Math.max(outLength, 1);
    return {
      scratchBytes: outLength * 8,
      build(rt): Step {
        const src = rt.inputView(0);
        const dst = rt.outputView(0);
        const acc = new Float64Array(rt.memory.buffer, rt.scratch, outLength);
        const { width, rows } = plan;
        const { starts, step } = plan.operands[0];
        return () => {
          acc.fill(r.init);
          for (let row = 0; row < rows; row++) {
            const s = row * width;
            const o = starts[row];
            for (let j = 0; j < width; j++) {
              acc[o + j * step] = r.add(acc[o + j * step], src[s + j]);
            }
          }
          for (let i = 0; i < outLength; i++) dst[i] = r.finish(acc[i], count);
        };
      },
    };
  };
}

/** The reduction kernels. */
export const reduceKernels: KernelTable = Object.fromEntries(
  Object.keys(REDUCTIONS).map((op) => [op, reduce(op)]),
);
