/**
 * The f32 loops of Add, Sub, Mul and Div, which carry most of BERT's
 * elementwise work (residuals, the attention mask, the score scaling). Each
 * op has one loop per operand pattern of a row — both contiguous, or one a
 * single broadcast value — so the inner loop has no index arithmetic
 * beyond one add per operand. Values are computed in doubles and rounded
 * once on store, exactly as the general elementwise path does.
 *
 * A row is one call, however long: cutting rows into short calls made
 * these loops faster alone but slower inside a training step (measured).
 *
 * When the whole output is one row — same-shaped operands (residuals,
 * gradient accumulation) or one a single value (the score scaling) — the
 * generated SIMD kernels of `src/codegen/f32/binary.ts` run instead, split
 * between the engine's threads by elements; they write the same bits.
 *
 * @module
 */

import {
  type BinaryForm,
  type BinaryOp,
  generateBinary,
} from "../../../src/codegen/f32/mod.ts";
import type { RowPlan } from "./broadcast.ts";
import { elementwiseSplit, loadSplit } from "./generated.ts";
import type { Kernel, Step } from "./types.ts";

/** `y[o+j] = a[ai+j] ∘ b[bi+j]` for `j < w`. */
type Both = (
  y: Float32Array,
  a: Float32Array,
  b: Float32Array,
  o: number,
  ai: number,
  bi: number,
  w: number,
) => void;

/** `y[o+j] = a[ai+j] ∘ s` for `j < w`. */
type Right = (
  y: Float32Array,
  a: Float32Array,
  s: number,
  o: number,
  ai: number,
  w: number,
) => void;

/** `y[o+j] = s ∘ b[bi+j]` for `j < w`. */
type Left = (
  y: Float32Array,
  s: number,
  b: Float32Array,
  o: number,
  bi: number,
  w: number,
) => void;

/** One op's loops; each is its own function so V8 keeps it monomorphic. */
interface Loops {
  readonly both: Both;
  readonly right: Right;
  readonly left: Left;
}

const LOOPS: Readonly<Record<string, Loops>> = {
  Add: {
    both: (y, a, b, o, ai, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] + b[bi + j];
    },
    right: (y, a, s, o, ai, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] + s;
    },
    left: (y, s, b, o, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = s + b[bi + j];
    },
  },
  Sub: {
    both: (y, a, b, o, ai, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] - b[bi + j];
    },
    right: (y, a, s, o, ai, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] - s;
    },
    left: (y, s, b, o, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = s - b[bi + j];
    },
  },
  Mul: {
    both: (y, a, b, o, ai, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] * b[bi + j];
    },
    right: (y, a, s, o, ai, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] * s;
    },
    left: (y, s, b, o, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = s * b[bi + j];
    },
  },
  Div: {
    both: (y, a, b, o, ai, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] / b[bi + j];
    },
    right: (y, a, s, o, ai, w) => {
      for (let j = 0; j < w; j++) y[o + j] = a[ai + j] / s;
    },
    left: (y, s, b, o, bi, w) => {
      for (let j = 0; j < w; j++) y[o + j] = s / b[bi + j];
    },
  },
};

/** Whether binary `op` has f32 loops here. */
export function hasF32Loops(op: string): boolean {
  return Object.hasOwn(LOOPS, op);
}

/**
 * The step of f32 binary `op`: `y = a ∘ b` with the operands read by `plan`
 * (`rowPlan` of their shapes). A broadcast value is read on every run: it
 * may be a constant that `setConstant` replaces.
 */
export function f32BinaryStep(
  op: string,
  plan: RowPlan,
  y: Float32Array,
  a: Float32Array,
  b: Float32Array,
): Step {
  const { both, right, left } = LOOPS[op];
  const { width, rows } = plan;
  const [pa, pb] = plan.operands;
  const as = pa.starts;
  const bs = pb.starts;
  if (pb.step === 0) {
    return () => {
      for (let r = 0; r < rows; r++) {
        right(y, a, b[bs[r]], r * width, as[r], width);
      }
    };
  }
  if (pa.step === 0) {
    return () => {
      for (let r = 0; r < rows; r++) {
        left(y, a[as[r]], b, r * width, bs[r], width);
      }
    };
  }
  return () => {
    for (let r = 0; r < rows; r++) {
      both(y, a, b, r * width, as[r], bs[r], width);
    }
  };
}

/**
 * The generated kernel of f32 binary `op` when `plan` makes the output one
 * row, else undefined (broadcast rows stay on the loops above).
 */
export function simdBinaryKernel(
  op: string,
  plan: RowPlan,
): Kernel | undefined {
  if (plan.rows !== 1 || !hasF32Loops(op)) return undefined;
  const [pa, pb] = plan.operands;
  const form: BinaryForm = pa.step === 1 && pb.step === 0
    ? "scalar_b"
    : pa.step === 0 && pb.step === 1
    ? "scalar_a"
    : "both";
  // The single value stays put; the streamed operands and y advance.
  const streamed =
    { both: [0, 1, 2], scalar_a: [1, 2], scalar_b: [0, 2] }[form];
  const n = plan.width;
  const [startA, startB] = [4 * pa.starts[0], 4 * pb.starts[0]];
  return {
    async build(rt): Promise<Step> {
      const kernel = await loadSplit(
        rt,
        `binary_${op}_${form}`,
        (o) => generateBinary(op as BinaryOp, form, o),
        elementwiseSplit(3, streamed),
      );
      const [a, b, y] = [
        rt.input(0) + startA,
        rt.input(1) + startB,
        rt.output(0),
      ];
      return () => kernel(a, b, y, n);
    },
  };
}
