/**
 * `QuantizedMatMul` on the generated int8 GEMM: the post-training integer
 * linear of `src/ops/quantized_matmul.ts`, bit for bit.
 *
 * The activation codes are asymmetric (c ∈ [0, 2^bits − 1]), so the product
 * runs on c − 128 ∈ [−128, 127]. The GEMM's exact `relaxed` form needs its A
 * operand in [−127, 127] and takes any int8 B, so the product is computed
 * transposed — Yᵀ = Wᵀ·Xᵀ, the weight codes (symmetric, |q| ≤ 127) as A and
 * the centred activation codes as B — into an i32 buffer, and the
 * dequantising pass writes Y back in row order. The codes and that pass are
 * the generated `src/codegen/quantized` kernels. The packed weight and its
 * column terms are kept until the weight is written from outside.
 *
 * @module
 */

import {
  type GemmVariant,
  kSteps,
  maxExactK,
  packedASize,
  packedBSize,
} from "../../../src/codegen/gemm/mod.ts";
import {
  type DequantiseColumns,
  generateDequantiseColumns,
} from "../../../src/codegen/quantized/dequantise_columns.ts";
import {
  generateQuantiseCodes,
  type QuantiseCodes,
} from "../../../src/codegen/quantized/linear_codes.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import {
  activationCodeOf,
  columnTerms,
} from "../../../src/ops/quantized_matmul.ts";
import { EngineError } from "../errors.ts";
import { load } from "./generated.ts";
import {
  blockTilesFor,
  gemmSource,
  packers,
  runnableS8Params,
} from "./gemm_source.ts";
import {
  align64,
  type Kernel,
  type KernelRuntime,
  type KernelTable,
  type NodeInfo,
  type Step,
} from "./types.ts";

function quantizedMatMul(
  info: NodeInfo,
  variant: GemmVariant,
): Kernel | undefined {
  const [x, w, s, bias] = info.inputs;
  if (
    x?.dtype !== "f32" || w?.dtype !== "i8" || s?.dtype !== "f32" ||
    w.shape.length !== 2 || info.outputs[0]?.dtype !== "f32" ||
    (bias !== undefined && bias.dtype !== "f32")
  ) {
    return undefined;
  }
  const [k, n] = w.shape;
  const m = sizeOf(x.shape) / k;
  const p = runnableS8Params("i32", variant);
  if (k > maxExactK(p)) return undefined;
  const code = activationCodeOf(info.node);
  // Scratch: edge tile, centred codes X [m, k], packed Xᵀ, i32 Yᵀ [n, m].
  const codes = align64(p.mr * p.nr * 4);
  const packedB = codes + align64(m * k);
  const acc = packedB + align64(packedBSize(p, k, m));
  // Persistent: packed Wᵀ, then the f64 column terms (shift, factor).
  const terms = align64(packedASize(p, n, k));
  return {
    scratchBytes: acc + align64(m * n * 4),
    persistentBytes: terms + align64(2 * n * 8),
    async build(rt: KernelRuntime): Promise<Step> {
      const source = gemmSource(p, rt.shared);
      const run = await rt.gemm(source, p);
      const { packA, packB } = await packers(rt, source, p);
      const quantise: QuantiseCodes = await load(
        rt,
        "quantise_codes",
        generateQuantiseCodes,
      );
      const variant = bias === undefined ? "plain" : "bias";
      const dequantise: DequantiseColumns = await load(
        rt,
        `dequantise_columns/${variant}`,
        (o) => generateDequantiseColumns(bias !== undefined, o),
      );
      const f64 = new Float64Array(rt.memory.buffer);
      const [x, y, at, kept] = [
        rt.input(0),
        rt.output(0),
        rt.scratch,
        rt.persistent,
      ];
      const [shift, factor] = [kept + terms, kept + terms + n * 8];
      const wCodes = rt.inputView(1), wScale = rt.inputView(2);
      const ksteps = kSteps(p, k);
      const blockTiles = blockTilesFor(p, k);
      const half = Math.fround(code.zeroPoint + 0.5);
      const qmax = 2 ** code.bits - 1;
      const constant = info.isConstant(1) && info.isConstant(2);
      let packed: [number, number] | undefined;
      // Repacks Wᵀ and recomputes the column terms when W or its scales change.
      const prepare = () => {
        const [codesVersion, scalesVersion] = [rt.version(1), rt.version(2)];
        if (
          constant && packed?.[0] === codesVersion &&
          packed[1] === scalesVersion
        ) {
          return;
        }
        if (packA(rt.input(1), 1, n, n, k, kept)) {
          throw new EngineError(
            `QuantizedMatMul '${info.node.name}': a weight code is −128, outside the symmetric range.`,
            info.node.name,
          );
        }
        const t = columnTerms(wCodes, wScale, k, n, code);
        f64.set(t.shift, shift / 8);
        f64.set(t.factor, factor / 8);
        packed = [codesVersion, scalesVersion];
      };
      return () => {
        prepare();
        quantise(x, at + codes, m * k, code.scale, half, qmax);
        packB(at + codes, k, 1, m, k, at + packedB);
        run(
          kept,
          at + packedB,
          at + acc,
          n,
          m,
          ksteps,
          m,
          1,
          0,
          at,
          blockTiles,
        );
        dequantise(at + acc, y, shift, factor, m, n, rt.input(3));
      };
    },
  };
}

/** The post-training integer linear kernel, on int8 GEMMs of inner-product `variant`. */
export function quantizedMatMulKernels(variant: GemmVariant): KernelTable {
  return { QuantizedMatMul: (info) => quantizedMatMul(info, variant) };
}
