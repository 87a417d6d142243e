/**
 * Elementwise kernels on typed-array views: broadcasting binary arithmetic
 * and comparisons, unary math, Where, Cast, and the copy-only ops (Reshape
 * and friends). Values are computed in doubles and rounded once on store,
 * as the reference does; f32 Add/Sub/Mul/Div run on the loops or the
 * generated kernels of `binary_f32.ts`.
 *
 * @module
 */

import { type DType, isFloat } from "../../../src/ir/dtype.ts";
import { erf } from "../../../src/ops/erf.ts";
import { fitToDType } from "../../../src/ops/elementwise.ts";
import { EngineError } from "../errors.ts";
import { f32BinaryStep, hasF32Loops, simdBinaryKernel } from "./binary_f32.ts";
import { rowPlan } from "./broadcast.ts";
import type {
  Kernel,
  KernelRuntime,
  KernelTable,
  NodeInfo,
  Step,
} from "./types.ts";

type Fn2 = (a: number, b: number) => number;

/** Scalar semantics of each binary op; integer Div truncates like C. */
const BINARY: Readonly<Record<string, (float: boolean) => Fn2>> = {
  Add: () => (a, b) => a + b,
  Sub: () => (a, b) => a - b,
  Mul: () => (a, b) => a * b,
  Div: (float) =>
    float ? (a, b) => a / b : (a, b) => {
      if (b === 0) throw new EngineError("Integer division by zero.");
      return Math.trunc(a / b);
    },
  Pow: () => (a, b) => a ** b,
  Min: () => Math.min,
  Max: () => Math.max,
  Equal: () => (a, b) => a === b ? 1 : 0,
  Less: () => (a, b) => a < b ? 1 : 0,
  LessOrEqual: () => (a, b) => a <= b ? 1 : 0,
  Greater: () => (a, b) => a > b ? 1 : 0,
  GreaterOrEqual: () => (a, b) => a >= b ? 1 : 0,
  And: () => (a, b) => a && b ? 1 : 0,
  Or: () => (a, b) => a || b ? 1 : 0,
  Xor: () => (a, b) => (a ? 1 : 0) ^ (b ? 1 : 0),
};

/** Scalar semantics of each unary op. */
const UNARY: Readonly<Record<string, (x: number) => number>> = {
  Sqrt: Math.sqrt,
  Reciprocal: (x) => 1 / x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Exp: Math.exp,
  Log: Math.log,
  Erf: erf,
  Tanh: Math.tanh,
  Relu: (x) => Math.max(x, 0),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Floor: Math.floor,
  Ceil: Math.ceil,
  Not: (x) => x ? 0 : 1,
};

/** Stores `x` as the output dtype holds it: exact for floats, wrapped else. */
function storer(dtype: DType): (x: number) => number {
  return isFloat(dtype) ? (x) => x : (x) => fitToDType(dtype, x);
}

/**
 * A kernel applying `fn` to broadcast operands, elementwise; with `f32Op`,
 * binary f32 op `f32Op`'s dedicated loops instead.
 */
function mapKernel(
  info: NodeInfo,
  fn: (xs: Float64Array) => number,
  f32Op?: string,
): Kernel | undefined {
  const out = info.outputs[0];
  if (out === undefined || info.inputs.some((t) => t === undefined)) {
    return undefined;
  }
  const shapes = info.inputs.map((t) => t!.shape);
  const plan = rowPlan(shapes, out.shape);
  const store = storer(out.dtype);
  return {
    build(rt): Step {
      const views = info.inputs.map((_, i) => rt.inputView(i));
      const y = rt.outputView(0);
      const { width, rows, operands } = plan;
      if (f32Op !== undefined) {
        const [a, b] = views as Float32Array[];
        return f32BinaryStep(f32Op, plan, y as Float32Array, a, b);
      }
      const args = new Float64Array(views.length);
      return () => {
        for (let r = 0; r < rows; r++) {
          const o = r * width;
          for (let j = 0; j < width; j++) {
            for (let i = 0; i < views.length; i++) {
              const p = operands[i];
              args[i] = views[i][p.starts[r] + j * p.step];
            }
            y[o + j] = store(fn(args));
          }
        }
      };
    },
  };
}

function binary(name: string) {
  return (info: NodeInfo): Kernel | undefined => {
    const a = info.inputs[0];
    if (a === undefined || info.inputs.length !== 2) return undefined;
    const float = isFloat(a.dtype);
    const f = BINARY[name](float);
    const mul32 = name === "Mul" && (a.dtype === "i32" || a.dtype === "u32");
    const fn: Fn2 = mul32 ? Math.imul : f;
    const out = info.outputs[0];
    const f32 = hasF32Loops(name) && a.dtype === "f32" &&
      info.inputs[1]?.dtype === "f32" && out?.dtype === "f32";
    if (f32) {
      const plan = rowPlan([a.shape, info.inputs[1]!.shape], out.shape);
      const simd = simdBinaryKernel(name, plan);
      if (simd !== undefined) return simd;
    }
    return mapKernel(info, (xs) => fn(xs[0], xs[1]), f32 ? name : undefined);
  };
}

function unary(name: string) {
  const f = UNARY[name];
  return (info: NodeInfo) => mapKernel(info, (xs) => f(xs[0]));
}

/** A step copying input 0's bytes to output 0. */
function copyStep(rt: KernelRuntime): Step {
  const bytes = new Uint8Array(rt.memory.buffer);
  const src = rt.input(0);
  const dst = rt.output(0);
  const n = rt.outputView(0).byteLength;
  return () => bytes.copyWithin(dst, src, src + n);
}

/** Copies the input's bytes: the static shape already says the rest. */
function copy(info: NodeInfo): Kernel | undefined {
  return info.outputs[0] === undefined ? undefined : { build: copyStep };
}

/**
 * Inference Dropout (training_mode absent or a false constant): the input,
 * and an all-true mask; the ratio does not matter then.
 */
function dropout(info: NodeInfo): Kernel | undefined {
  const training = info.node.inputs[2];
  const inference = training === undefined || training === "" ||
    (info.fixed[2] !== undefined && !info.fixed[2].data[0]);
  if (!inference) return undefined;
  if (info.outputs[0] === undefined) return undefined;
  return {
    build(rt): Step {
      const forward = copyStep(rt);
      const mask = info.outputs[1] === undefined ? undefined : rt.outputView(1);
      return () => {
        forward();
        mask?.fill(1);
      };
    },
  };
}

/** Where(cond, x, y): x where cond, else y (broadcast). */
function where(info: NodeInfo): Kernel | undefined {
  return mapKernel(info, (xs) => xs[0] ? xs[1] : xs[2]);
}

/** Cast to the output dtype, with the reference's conversion rules. */
function cast(info: NodeInfo): Kernel | undefined {
  const out = info.outputs[0];
  if (out === undefined || info.node.inputs.length !== 1) return undefined;
  return mapKernel(info, (xs) => fitToDType(out.dtype, xs[0]));
}

/** The elementwise kernels. */
export const elementwiseKernels: KernelTable = {
  ...Object.fromEntries(Object.keys(BINARY).map((n) => [n, binary(n)])),
  ...Object.fromEntries(Object.keys(UNARY).map((n) => [n, unary(n)])),
  Where: where,
  Cast: cast,
  Reshape: copy,
  Unsqueeze: copy,
  Squeeze: copy,
  Flatten: copy,
  Identity: copy,
  Dropout: dropout,
};
