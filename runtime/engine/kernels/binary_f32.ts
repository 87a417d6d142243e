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
 * @module
 */

import type { RowPlan } from "./broadcast.ts";
import type { Step } from "./types.ts";

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
