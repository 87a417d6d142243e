/**
 * Kernels of the quantising operators on the generated BFP kernels, bit for
 * bit what the reference operators of `src/ops/quantize_ops.ts` compute:
 *
 * - `BfpQuantize(x, seed?)` → q·Δ in f32 (max-abs, map into scratch, unmap),
 *   any granularity, for the products that stay f32 GEMMs (int12, int16,
 *   row/column exponents);
 * - `F16Round(x)` → x rounded to f16 values (the FP16 baseline);
 * - the engine-internal `BfpMap(x, seed?) → (q, e)` and
 *   `BfpUnmap(q, e) → q·Δ` that `lower_quantize.ts` puts in place of a
 *   per-tensor `BfpQuantize`, so the integer GEMMs read the mantissas q
 *   (i8 or i16) and the one exponent e (i32 scalar) directly.
 *
 * Tensors are mapped as [rows, cols] = [leading dims flattened, last dim],
 * like the reference operators; the stochastic stream of a node is keyed by
 * `streamSeed(stream, seed)` (see `bfp_module.ts`).
 *
 * @module
 */

import type {
  BfpGranularity,
  BfpParams,
} from "../../../src/codegen/bfp/mod.ts";
import { frexpExponent } from "../../../src/codegen/bfp/mod.ts";
import { intAttr, stringAttr } from "../../../src/ir/graph.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import {
  bfpFunctions,
  exponentAt,
  generatedBits,
  keysOf,
  roundingOf,
  writeScales,
} from "./bfp_module.ts";
import {
  align64,
  type Kernel,
  type KernelTable,
  type NodeInfo,
  type Step,
} from "./types.ts";

/** [rows, cols] of a shape: leading dims flattened, last dim. */
export function matrixOf(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  const cols = shape[shape.length - 1];
  return [sizeOf(shape) / Math.max(cols, 1), cols];
}

/** The kernels' granularity for the IR spelling, or `undefined`. */
function granularityOf(info: NodeInfo): BfpGranularity | undefined {
  const g = stringAttr(info.node.attrs, "granularity", "tensor");
  return g === "tensor" || g === "row" ? g : g === "column" ? "col" : undefined;
}

/** Whether input 0 is f32, the rounding is known and a stochastic map has a seed. */
function quantiserInputs(info: NodeInfo): boolean {
  const r = stringAttr(info.node.attrs, "rounding", "nearest");
  if (r !== "stochastic" && r !== "nearest") return false;
  if (r === "stochastic" && info.inputs[1] === undefined) return false;
  return info.inputs[0]?.dtype === "f32";
}

/** The BFP parameters of a `BfpQuantize`/`BfpMap` node the kernels cover. */
function paramsOf(info: NodeInfo): BfpParams | undefined {
  const bits = generatedBits(intAttr(info.node.attrs, "bits", 8));
  const granularity = granularityOf(info);
  if (!quantiserInputs(info) || bits === undefined || !granularity) {
    return undefined;
  }
  return { bits, rounding: roundingOf(info.node), granularity };
}

/** BfpQuantize in f32: q·Δ per element, through q in scratch. */
function bfpQuantize(info: NodeInfo): Kernel | undefined {
  const params = paramsOf(info);
  if (params === undefined) return undefined;
  const [rows, cols] = matrixOf(info.inputs[0]!.shape);
  const groups = params.granularity === "tensor"
    ? 1
    : params.granularity === "row"
    ? rows
    : cols;
  const qBytes = align64(rows * cols * (params.bits === 8 ? 1 : 2));
  const maxAt = qBytes, scalesAt = maxAt + align64(4 * groups);
  return {
    scratchBytes: scalesAt + align64(8 * groups),
    async build(rt): Promise<Step> {
      const fns = await bfpFunctions(rt, params);
      const f32 = new Float32Array(rt.memory.buffer);
      const [x, y, s] = [rt.input(0), rt.output(0), rt.scratch];
      const keys = keysOf(info.node, rt);
      const exponents = new Int32Array(groups);
      return () => {
        fns.maxAbs(x, rows, cols, s + maxAt);
        for (let g = 0; g < groups; g++) {
          exponents[g] = frexpExponent(f32[(s + maxAt) / 4 + g]);
        }
        writeScales(f32, s + scalesAt, exponents, params.bits, "map");
        fns.map(x, s, rows, cols, s + scalesAt, 0, ...keys());
        writeScales(f32, s + scalesAt, exponents, params.bits, "step");
        fns.unmap(s, y, rows, cols, s + scalesAt);
      };
    },
  };
}

/** Engine-internal BfpMap(x, seed?) → (q, e): per-tensor mantissas and exponent. */
function bfpMap(info: NodeInfo): Kernel | undefined {
  const params = paramsOf(info);
  if (params?.granularity !== "tensor") return undefined;
  const [rows, cols] = matrixOf(info.inputs[0]!.shape);
  return {
    scratchBytes: 128,
    async build(rt): Promise<Step> {
      const fns = await bfpFunctions(rt, params);
      const f32 = new Float32Array(rt.memory.buffer);
      const [x, q, s] = [rt.input(0), rt.output(0), rt.scratch];
      const e = rt.outputView(1);
      const keys = keysOf(info.node, rt);
      return () => {
        fns.maxAbs(x, rows, cols, s);
        e[0] = exponentAt(f32, s);
        writeScales(f32, s + 64, e, params.bits, "map");
        fns.map(x, q, rows, cols, s + 64, 0, ...keys());
      };
    },
  };
}

/** Engine-internal BfpUnmap(q, e) → q·Δ, for readers of the f32 values. */
function bfpUnmap(info: NodeInfo): Kernel | undefined {
  const bits = generatedBits(intAttr(info.node.attrs, "bits", 8));
  if (bits === undefined) return undefined;
  const [rows, cols] = matrixOf(info.inputs[0]!.shape);
  const params: BfpParams = { bits, rounding: "rne", granularity: "tensor" };
  return {
    scratchBytes: 64,
    async build(rt): Promise<Step> {
      const fns = await bfpFunctions(rt, params);
      const f32 = new Float32Array(rt.memory.buffer);
      const [q, y, s] = [rt.input(0), rt.output(0), rt.scratch];
      const e = rt.inputView(1);
      return () => {
        writeScales(f32, s, e, bits, "step");
        fns.unmap(q, y, rows, cols, s);
      };
    },
  };
}

/** f32 bits of 65520: the smallest magnitude that rounds to f16 infinity. */
const F16_OVERFLOW = 0x477ff000;
/** f32 bits of 2^−14: the smallest normal f16. */
const F16_MIN_NORMAL = 0x38800000;

/**
 * x rounded to the nearest f16 value, ties to even, on the f32 bits: what
 * `roundToF16` computes, without its logarithm. Normals drop 13 mantissa
 * bits with a round-half-even carry; below 2^−14 the f16 step is 2^−24,
 * where adding 0.5 makes the f32 spacing exactly that step.
 */
function f16RoundBits(bits: Uint32Array, f32: Float32Array, i: number): void {
  const b = bits[i];
  const a = b & 0x7fffffff;
  if (a >= 0x7f800000) return;
  const sign = b & 0x80000000;
  if (a >= F16_OVERFLOW) bits[i] = (sign | 0x7f800000) >>> 0;
  else if (a >= F16_MIN_NORMAL) {
    bits[i] = (sign | ((a + 0xfff + ((a >>> 13) & 1)) & ~0x1fff)) >>> 0;
  } else {
    const r = Math.fround(Math.abs(f32[i]) + 0.5) - 0.5;
    f32[i] = sign ? -r : r;
  }
}

/** F16Round: each element rounded to f16 and kept as f32. */
function f16Round(info: NodeInfo): Kernel | undefined {
  if (info.inputs[0]?.dtype !== "f32") return undefined;
  const n = sizeOf(info.inputs[0].shape);
  return {
    build(rt): Step {
      const x = rt.inputView(0) as Float32Array;
      const y = rt.outputView(0) as Float32Array;
      const bits = new Uint32Array(y.buffer, y.byteOffset, n);
      return () => {
        y.set(x);
        for (let i = 0; i < n; i++) f16RoundBits(bits, y, i);
      };
    },
  };
}

/** The quantiser kernels. */
export const quantizeKernels: KernelTable = {
  BfpQuantize: bfpQuantize,
  F16Round: f16Round,
  BfpMap: bfpMap,
  BfpUnmap: bfpUnmap,
};
