/**
 * Reductions (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare,
 * ReduceL2) in double, rounded once on store as the reference does. The
 * input is walked as rows (runs of trailing dims, `broadcast.ts`); each
 * row adds into the output row it reduces to (a broadcast read backwards),
 * so the bias gradients of BERT's backward pass — sums over batch and
 * sequence — stream contiguously.
 * Sums (ReduceSum, ReduceMean) have their own loops (`sumStep`), which add
 * in the same order, so every output is the same double rounded the same way;
 * f32 sums over leading axes run on the generated column sums, again in
 * that order, split between the threads by columns.
 *
 * @module
 */

import type { TensorData } from "../../../src/ir/dtype.ts";
import { intAttr } from "../../../src/ir/graph.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import { type RowPlan, rowPlan } from "./broadcast.ts";
import { generateColumnSums } from "../../../src/codegen/f32/mod.ts";
import { loadSplit } from "./generated.ts";
import type {
  Kernel,
  KernelTable,
  NodeInfo,
  SplitSpec,
  Step,
} from "./types.ts";

interface Reduction {
  readonly init: number;
  readonly add: (acc: number, x: number) => number;
  readonly finish: (acc: number, count: number) => number;
}

const sum = (acc: number, x: number) => acc + x;

/**
 * A sum's step over `plan`'s rows: each row added into the accumulator row
 * it reduces to, rows in order, so each accumulator sees the additions of
 * the general loop in the same order. Four consecutive rows meeting the
 * same accumulator row (a sum over leading axes) are added in one pass,
 * `(((acc + x₀) + x₁) + x₂) + x₃`: the same double additions in the same
 * order, with three loads and stores of `acc` fewer.
 */
function sumStep(
  plan: RowPlan,
  acc: Float64Array,
  x: TensorData,
  finish: () => void,
): Step {
  const { width, rows } = plan;
  const { starts, step } = plan.operands[0];
  if (step === 0) {
    return () => {
      acc.fill(0);
      for (let r = 0, s = 0; r < rows; r++, s += width) {
        let t = acc[starts[r]];
        for (let j = 0; j < width; j++) t = t + x[s + j];
        acc[starts[r]] = t;
      }
      finish();
    };
  }
  return () => {
    acc.fill(0);
    let r = 0;
    for (; r + 3 < rows; r += 4) {
      const o = starts[r];
      const s = r * width;
      if (starts[r + 3] === o && starts[r + 1] === o && starts[r + 2] === o) {
        const [s1, s2, s3] = [s + width, s + 2 * width, s + 3 * width];
        for (let j = 0; j < width; j++) {
          acc[o + j] = acc[o + j] + x[s + j] + x[s1 + j] + x[s2 + j] +
            x[s3 + j];
        }
      } else {
        for (let k = r; k < r + 4; k++) {
          const ok = starts[k];
          const sk = k * width;
          for (let j = 0; j < width; j++) {
            acc[ok + j] = acc[ok + j] + x[sk + j];
          }
        }
      }
    }
    for (; r < rows; r++) {
      const o = starts[r];
      const s = r * width;
      for (let j = 0; j < width; j++) acc[o + j] = acc[o + j] + x[s + j];
    }
    finish();
  };
}

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
    if (
      op === "ReduceSum" && x.dtype === "f32" &&
      info.outputs[0].dtype === "f32" && overLeadingAxes(plan)
    ) {
      return columnSums(plan);
    }
    return {
      scratchBytes: outLength * 8,
      build(rt): Step {
        const src = rt.inputView(0);
        const dst = rt.outputView(0);
        const acc = new Float64Array(rt.memory.buffer, rt.scratch, outLength);
        const { width, rows } = plan;
        const { starts, step } = plan.operands[0];
        const finish = () => {
          for (let i = 0; i < outLength; i++) dst[i] = r.finish(acc[i], count);
        };
        if (r.add === sum) return sumStep(plan, acc, src, finish);
        return () => {
          acc.fill(r.init);
          for (let row = 0; row < rows; row++) {
            const s = row * width;
            const o = starts[row];
            for (let j = 0; j < width; j++) {
              acc[o + j * step] = r.add(acc[o + j * step], src[s + j]);
            }
          }
          finish();
        };
      },
    };
  };
}

/** Whether every row of `plan` adds into the one output row: a sum over leading axes. */
function overLeadingAxes(plan: RowPlan): boolean {
  const { starts, step } = plan.operands[0];
  return step === 1 && starts.every((s) => s === 0);
}

/**
 * A sum over leading axes (the bias gradients) on the generated column
 * sums, split between the threads by columns: each column added in double
 * in row order, as {@linkcode sumStep} adds it.
 */
function columnSums({ width, rows }: RowPlan): Kernel {
  const split: SplitSpec = {
    count: 2,
    grain: 16,
    plan: () => ({ pointers: [[0, 4], [1, 4]], bytesPerUnit: 4 * rows + 4 }),
  };
  return {
    async build(rt): Promise<Step> {
      const sums = await loadSplit(
        rt,
        "column_sums",
        generateColumnSums,
        split,
      );
      const [x, y] = [rt.input(0), rt.output(0)];
      return () => sums(x, y, width, rows, width);
    },
  };
}

/** The reduction kernels. */
export const reduceKernels: KernelTable = Object.fromEntries(
  Object.keys(REDUCTIONS).map((op) => [op, reduce(op)]),
);
