/**
 * Quantisation operators: exact emulations, in f32 values, of the integer
 * formats of NUMERICS.md, so the reference executor computes what the
 * integer kernels compute. Each returns dequantised values (q·Δ, exact in
 * f32), and a MatMul of two of them accumulates in double and rounds once —
 * which is `f32(Qx @ Qw) · 2^(ex+ew−2(b−1))`, the integer GEMM's result.
 *
 * - `BfpQuantize(x, seed?) {bits, rounding, granularity, stream}` — BFP-b.
 * - `F16Round(x)` — operands of the FP16 baseline (f32 compute).
 * - `OutlierSplit(x, seed?) {gamma, inlier_bits, outlier_bits, rounding, stream}`
 *   → (Δ_in·Q_in, Δ_out·Q_out): Approach 1's streams, disjoint supports.
 * - `OutlierTile(x, seed?) {gamma, bits, rounding, stream}`
 *   → (Δ_A·Q_A, 2γ·k, count of |k| > 127): Approach 2's streams.
 *
 * Tensors are mapped as [rows, cols] = [product of leading dims, last dim].
 * The definitions are the scalar references of `src/codegen/bfp` and
 * `src/codegen/outlier`; stochastic rounding draws from the counter PRNG
 * keyed by {@linkcode streamSeed}(stream, seed), where `stream` is fixed per
 * node at compile time and `seed` (an i64 scalar input, e.g. the training
 * `step`) changes per step — so a run is reproducible and every tensor of
 * every step rounds with its own stream.
 *
 * @module
 */

import { roundToF16 } from "../ir/dtype.ts";
import { floatAttr, intAttr, type Node, stringAttr } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import type {
  BfpBits,
  BfpGranularity,
  BfpParams,
} from "../codegen/bfp/params.ts";
import { mix32 } from "../codegen/bfp/prng.ts";
import {
  referenceDequantise,
  referenceQuantise,
} from "../codegen/bfp/reference.ts";
import { checkGamma, K_INT8_MAX } from "../codegen/outlier/params.ts";
import {
  checkTileRange,
  gatherColumns,
  outlierColumns,
  tileK,
  tileRemainder,
} from "../codegen/outlier/reference.ts";
import { inputTensor, inputType } from "./dims.ts";
import { type InferContext, type OpDef, OpError } from "./op_def.ts";

/** A stream id from a node name and a run salt: FNV-1a of the name, mixed. */
export function streamId(name: string, salt = 0): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    h = Math.imul(h ^ byte, 0x01000193);
  }
  return mix32((h ^ mix32(salt >>> 0)) >>> 0);
}

/** The PRNG seed of stream `stream` at step seed `seed` (any safe integer). */
export function streamSeed(stream: number, seed: number): number {
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  return mix32((mix32((stream ^ seed) >>> 0) + high) >>> 0);
}

/** The [rows, cols] view of a shape: leading dims flattened. */
function matrixOf(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  const cols = shape[shape.length - 1];
  return [shape.reduce((a, b) => a * b, 1) / Math.max(cols, 1), cols];
}

/** The f32 data of input 0, or an OpError. */
function f32Input(node: Node, inputs: readonly (Tensor | undefined)[]) {
  const x = inputTensor(node, inputs, 0);
  if (x.dtype !== "f32") {
    throw new OpError(node, `needs an f32 input, got ${x.dtype}.`);
  }
  return { x, data: x.data as Float32Array, dims: matrixOf(x.shape) };
}

/** Checks input 0 is f32 and the optional seed an integer scalar; returns x's type. */
function checkInputs(ctx: InferContext) {
  const x = inputType(ctx, 0);
  if (x.dtype !== "f32") {
    throw new OpError(ctx.node, `needs an f32 input, got ${x.dtype}.`);
  }
  const seed = ctx.inputs[1];
  if (
    seed !== undefined &&
    ((seed.dtype !== "i64" && seed.dtype !== "i32") || seed.shape.length !== 0)
  ) {
    throw new OpError(ctx.node, "the seed must be an i64 or i32 scalar.");
  }
  roundingOf(ctx.node);
  return x;
}

/** The reference's rounding for the node's `rounding` attribute. */
function roundingOf(node: Node): "sr" | "rne" {
  const r = stringAttr(node.attrs, "rounding", "nearest");
  if (r !== "stochastic" && r !== "nearest") {
    throw new OpError(
      node,
      `rounding must be "stochastic" or "nearest", got "${r}".`,
    );
  }
  return r === "stochastic" ? "sr" : "rne";
}

/** A BFP width attribute, checked to lie in 2–16. */
function bitsAttr(node: Node, key: string, fallback: number): BfpBits {
  const b = intAttr(node.attrs, key, fallback);
  if (!Number.isInteger(b) || b < 2 || b > 16) {
    throw new OpError(node, `${key} must be from 2 to 16, got ${b}.`);
  }
  // The references' arithmetic holds for any width 2–16 (Int16Array storage);
  // BfpBits only names the widths the WASM kernels are generated for.
  return b as BfpBits;
}

/** The node's granularity attribute in the reference's spelling. */
function granularityOf(node: Node): BfpGranularity {
  const g = stringAttr(node.attrs, "granularity", "tensor");
  if (g === "tensor" || g === "row") return g;
  if (g === "column") return "col";
  throw new OpError(
    node,
    `granularity must be "tensor", "row" or "column", got "${g}".`,
  );
}

/** The PRNG seed of a stochastic node, or `undefined` when rounding to nearest. */
function seedOf(
  node: Node,
  inputs: readonly (Tensor | undefined)[],
): number | undefined {
  if (roundingOf(node) === "rne") return undefined;
  const seed = inputs[1];
  if (seed === undefined) {
    throw new OpError(
      node,
      "stochastic rounding needs a seed input (e.g. the training step).",
    );
  }
  return streamSeed(intAttr(node.attrs, "stream", 0), seed.data[0]);
}

/** The γ of an outlier node, checked like the kernels check it. */
function gammaOf(node: Node): number {
  const gamma = floatAttr(node.attrs, "gamma", 5);
  guard(node, () => checkGamma(gamma));
  return gamma;
}

/** Runs `f`, turning the references' range errors into errors naming the node. */
function guard<T>(node: Node, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new OpError(node, e.message);
    throw e;
  }
}

/** BFP map then dequantise: the values q·Δ of NUMERICS.md §1. */
function bfpValues(
  data: Float32Array,
  rows: number,
  cols: number,
  params: BfpParams,
  seed: number | undefined,
  counterBase = 0,
): Float32Array {
  return referenceDequantise(
    referenceQuantise(data, rows, cols, params, { seed, counterBase }),
  );
}

function f32Tensor(shape: readonly number[], data: Float32Array): Tensor {
  return { dtype: "f32", shape: [...shape], data };
}

/** BfpQuantize: BFP-b map and dequantise. */
const bfpQuantize: OpDef = {
  name: "BfpQuantize",
  summary:
    "BFP-b map of x and back: q·Δ (exact in f32), seed for stochastic R.",
  inputs: [1, 2],
  outputs: [1, 1],
  infer(ctx) {
    const x = checkInputs(ctx);
    bitsAttr(ctx.node, "bits", 8);
    granularityOf(ctx.node);
    return [x];
  },
  evaluate(inputs, node) {
    const { x, data, dims } = f32Input(node, inputs);
    const params: BfpParams = {
      bits: bitsAttr(node, "bits", 8),
      rounding: roundingOf(node),
      granularity: granularityOf(node),
    };
    const seed = seedOf(node, inputs);
    return [
      f32Tensor(
        x.shape,
        guard(node, () => bfpValues(data, ...dims, params, seed)),
      ),
    ];
  },
};

/** F16Round: each element rounded to the nearest f16 (ties to even). */
const f16Round: OpDef = {
  name: "F16Round",
  summary:
    "x rounded to f16 values, kept as f32 (the FP16 baseline's operands).",
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    return [checkInputs(ctx)];
  },
  evaluate(inputs, node) {
    const { x, data } = f32Input(node, inputs);
    return [f32Tensor(x.shape, Float32Array.from(data, roundToF16))];
  },
};

/**
 * OutlierSplit, Approach 1: X_in (|x| ≤ γ) → BFP-inlier_bits, X_out → BFP-
 * outlier_bits, each with its own exponent. X_out is mapped column-gathered
 * like the kernel (its exponent is that of dense X_out; its stochastic
 * counters follow the inliers'), then scattered back dense.
 */
const outlierSplit: OpDef = {
  name: "OutlierSplit",
  summary: "Approach 1: x → (Δ_in·Q_in, Δ_out·Q_out), |x| > γ in the second.",
  inputs: [1, 2],
  outputs: [2, 2],
  infer(ctx) {
    const x = checkInputs(ctx);
    gammaOf(ctx.node);
    bitsAttr(ctx.node, "inlier_bits", 8);
    bitsAttr(ctx.node, "outlier_bits", 12);
    return [x, x];
  },
  evaluate(inputs, node) {
    const { x, data, dims: [rows, cols] } = f32Input(node, inputs);
    const gamma = gammaOf(node);
    const rounding = roundingOf(node);
    const seed = seedOf(node, inputs);
    const isOut = (v: number) => Math.abs(v) > gamma;
    const inliers = guard(
      node,
      () =>
        bfpValues(data.map((v) => isOut(v) ? 0 : v), rows, cols, {
          bits: bitsAttr(node, "inlier_bits", 8),
          rounding,
          granularity: "tensor",
        }, seed),
    );
    const columns = outlierColumns(data, rows, cols, isOut);
    const width = columns.length;
    const gathered = gatherColumns(
      new Float32Array(rows * width),
      data,
      cols,
      columns,
      (v) => isOut(v) ? v : 0,
    );
    const mapped = guard(node, () =>
      bfpValues(
        gathered,
        rows,
        width,
        {
          bits: bitsAttr(node, "outlier_bits", 12),
          rounding,
          granularity: "tensor",
        },
        seed,
        rows * cols,
      ));
    const outliers = new Float32Array(data.length);
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < width; c++) {
        outliers[i * cols + columns[c]] = mapped[i * width + c];
      }
    }
    return [f32Tensor(x.shape, inliers), f32Tensor(x.shape, outliers)];
  },
};

/**
 * OutlierTile, Approach 2: k = ⌊(x+γ)/(2γ)⌋ and r = x − 2γk exactly;
 * r → BFP-bits. Outputs Δ_A·Q_A, the exact coarse part 2γ·k, and how many
 * elements have |k| > 127 (those tensors take the int16 k path).
 */
const outlierTile: OpDef = {
  name: "OutlierTile",
  summary: "Approach 2: x → (Δ_A·BFP(x − 2γk), 2γ·k, #|k|>127).",
  inputs: [1, 2],
  outputs: [2, 3],
  infer(ctx) {
    const x = checkInputs(ctx);
    gammaOf(ctx.node);
    bitsAttr(ctx.node, "bits", 8);
    return [x, x, { dtype: "i64", shape: [] }];
  },
  evaluate(inputs, node) {
    const { x, data, dims: [rows, cols] } = f32Input(node, inputs);
    const gamma = gammaOf(node);
    let maxAbs = 0;
    for (const v of data) {
      maxAbs = Math.abs(v) > maxAbs || Number.isNaN(v) ? Math.abs(v) : maxAbs;
    }
    guard(node, () => checkTileRange(maxAbs, gamma));
    const remainder = guard(
      node,
      () =>
        bfpValues(data.map((v) => tileRemainder(v, gamma)), rows, cols, {
          bits: bitsAttr(node, "bits", 8),
          rounding: roundingOf(node),
          granularity: "tensor",
        }, seedOf(node, inputs)),
    );
    let wide = 0;
    const coarse = data.map((v) => {
      const k = tileK(v, gamma);
      if (Math.abs(k) > K_INT8_MAX) wide++;
      return 2 * gamma * k;
    });
    return [
      f32Tensor(x.shape, remainder),
      f32Tensor(x.shape, coarse),
      { dtype: "i64", shape: [], data: Float64Array.of(wide) },
    ];
  },
};

/** The quantisation operators. */
export const quantizeOps: readonly OpDef[] = [
  bfpQuantize,
  f16Round,
  outlierSplit,
  outlierTile,
];
