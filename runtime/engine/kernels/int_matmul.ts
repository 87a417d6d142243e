/**
 * The engine-internal `IntMatMul`, which `lower_quantize.ts` puts in place
 * of a MatMul or Gemm whose operands are both per-tensor BFP8: the
 * generated int8×int8 GEMM (`relaxed` where the machine has relaxed SIMD,
 * else `dot16`) on the mantissas, with the power-of-two scale
 * 2^(ea−7+eb−7) applied to the int32 accumulators in the epilogue —
 * NUMERICS.md §2, and bit for bit the reference's f64 sum of dequantised
 * products rounded once (scaling by a power of two commutes with rounding).
 *
 * Inputs: `(aq, ae, bq, be, bias?, side?, meta?)`. Attributes: `transA`,
 * `transB`; `shape_a`/`shape_b` when a Reshape was bypassed (the mantissas
 * are read with the reshaped shape); `bits_a`/`bits_b`; `gemm` = 1 for a
 * former Gemm (then `alpha`, `beta` and C are applied like the reference:
 * the int32 result, scaled, plus β·C in f64, rounded once); `side` = 1 or 2
 * when an outlier side stream rides on A or B (`side_kind` `tile` with
 * `gamma`, or `bfp` with `side_bits`), added by `int_side.ts`. A MatMul's
 * per-column bias comes after the side product, as in the reference's
 * `Add(Add(main, side), bias)`: in the GEMM epilogue while no output line
 * carries a side value, else after the GEMM, with each touched row's side
 * sum and alone on the rows between them.
 *
 * @module
 */

import {
  type GemmParams,
  type GemmVariant,
  kSteps,
  maxExactK,
  packedASize,
  packedBSize,
} from "../../../src/codegen/gemm/mod.ts";
import {
  floatAttr,
  intAttr,
  intsAttr,
  stringAttr,
} from "../../../src/ir/graph.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import { broadcastIndex, broadcastShapes } from "../../../src/ops/broadcast.ts";
import { EngineError } from "../errors.ts";
import {
  blockTilesFor,
  gemmSource,
  packers,
  runnableS8Params,
} from "./gemm_source.ts";
import { type SideGeometry, SideProduct, type SideStream } from "./int_side.ts";
import { sideKernels } from "./int_side_kernels.ts";
import {
  align64,
  type Kernel,
  type KernelRuntime,
  type KernelTable,
  type NodeInfo,
  type Step,
} from "./types.ts";

/** The product's dims after the transpose marks, and its batch plan. */
function dimsOf(info: NodeInfo) {
  const { attrs } = info.node;
  const transA = intAttr(attrs, "transA", 0) !== 0;
  const transB = intAttr(attrs, "transB", 0) !== 0;
  const sa = intsAttr(attrs, "shape_a") ?? info.inputs[0]!.shape;
  const sb = intsAttr(attrs, "shape_b") ?? info.inputs[2]!.shape;
  const swap = (s: readonly number[], t: boolean) =>
    t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : [...s];
  const la = swap(sa, transA), lb = swap(sb, transB);
  const batchA = la.slice(0, -2), batchB = lb.slice(0, -2);
  const batch = broadcastShapes([batchA, batchB]) as number[];
  let m = la[la.length - 2];
  const [k, n] = [la[la.length - 1], lb[lb.length - 1]];
  // A 2-D B lets A's batch fold into M (A is contiguous when not transposed).
  const fold = batchB.length === 0 && !transA;
  if (fold) m *= sizeOf(batchA);
  return {
    transA,
    transB,
    m,
    k,
    n,
    count: fold ? 1 : sizeOf(batch),
    indexA: broadcastIndex(batchA, fold ? [] : batch),
    indexB: broadcastIndex(batchB, fold ? [] : batch),
  };
}

/** Scratch of one product: edge tile, padded bias, packed A and B, i32 C. */
function scratchLayout(p: GemmParams, m: number, k: number, n: number) {
  const bias = align64(p.mr * p.nr * 4);
  const a = bias + align64(Math.ceil(n / p.nr) * p.nr * 4);
  const b = a + align64(packedASize(p, m, k));
  const c = b + align64(packedBSize(p, k, n));
  return { bias, a, b, c, bytes: c + align64(m * n * 4) };
}

/** 2^e as an f32 GEMM scale when normal, else `undefined`. */
function normalScale(e: number): number | undefined {
  return e >= -126 && e <= 127 ? 2 ** e : undefined;
}

function intMatMul(
  info: NodeInfo,
  variant: GemmVariant,
): Kernel | undefined {
  const int8 = (i: number) => info.inputs[i]?.dtype === "i8";
  if (!int8(0) || !int8(2) || info.outputs[0]?.dtype !== "f32") {
    return undefined;
  }
  const { attrs } = info.node;
  const d = dimsOf(info);
  const { m, k, n, count } = d;
  const gemm = intAttr(attrs, "gemm", 0) !== 0;
  const alpha = floatAttr(attrs, "alpha", 1);
  const beta = floatAttr(attrs, "beta", 1);
  const c = info.inputs[4];
  // A former Gemm with C or α ≠ 1 rounds α·(Σ) + β·C once, as the reference does.
  const wide = gemm && (c !== undefined || alpha !== 1);
  const p = runnableS8Params(wide ? "i32" : "f32", variant);
  if (k > maxExactK(p)) return undefined;
  if (c !== undefined && !wide && (sizeOf(c.shape) !== n || count !== 1)) {
    return undefined;
  }
  const cLength = c === undefined ? 0 : sizeOf(c.shape);
  if (wide && c !== undefined && ![1, n, m * n].includes(cLength)) {
    return undefined;
  }
  const sideOn = intAttr(attrs, "side", 0);
  if (sideOn !== 0 && count !== 1) return undefined;
  const at = scratchLayout(p, m, k, n);
  const bitsA = intAttr(attrs, "bits_a", 8),
    bitsB = intAttr(attrs, "bits_b", 8);
  const side: SideGeometry | undefined = sideOn === 0 ? undefined : {
    on: sideOn === 1 ? "a" : "b",
    trans: sideOn === 1 ? d.transA : d.transB,
    otherTrans: sideOn === 1 ? d.transB : d.transA,
    m,
    k,
    n,
  };
  const sideKind = stringAttr(attrs, "side_kind", "tile");
  const gamma = floatAttr(attrs, "gamma", 5);
  const sideBits = intAttr(attrs, "side_bits", 12);
  return {
    scratchBytes: at.bytes + (side ? SideProduct.scratchBytes(side) : 0),
    async build(rt: KernelRuntime): Promise<Step> {
      const source = gemmSource(p, rt.shared);
      const run = await rt.gemm(source, p);
      const { packA, packB } = await packers(rt, source, p);
      const buffer = rt.memory.buffer;
      const f32 = new Float32Array(buffer);
      const i8 = new Int8Array(buffer);
      const i16 = new Int16Array(buffer);
      const i32 = new Int32Array(buffer);
      const s = rt.scratch;
      const [aq, bq, y] = [rt.input(0), rt.input(2), rt.output(0)];
      const ea = rt.inputView(1), eb = rt.inputView(3);
      const cv = c === undefined ? undefined : rt.inputView(4);
      const bias = c === undefined || wide ? 0 : rt.input(4);
      const meta = side === undefined ? undefined : rt.inputView(6);
      const ksteps = kSteps(p, k);
      const blockTiles = blockTilesFor(p, k);
      const [aLine, aK] = d.transA ? [1, m] : [k, 1];
      const [bLine, bK] = d.transB ? [k, 1] : [1, n];
      const kernels = await sideKernels(rt);
      const sideProduct = side &&
        new SideProduct(side, kernels, s + at.bytes);
      // Adds this run's side product (and the bias after it) into the
      // output; undefined when the stream touches no output line.
      const touchingSide = () => {
        if (sideProduct === undefined || meta === undefined) return undefined;
        const [values, valuesAt] = meta[1] === 1
          ? [i8, rt.input(5)]
          : [i16, rt.input(5) / 2];
        const stream: SideStream = {
          other: sideOn === 1 ? bq : aq,
          values,
          valuesAt,
          columns: meta as Int32Array,
          columnsAt: 3,
          count: meta[0],
        };
        if (!sideProduct.touches(stream)) return undefined;
        const eOther = sideOn === 1 ? eb[0] - (bitsB - 1) : ea[0] - (bitsA - 1);
        const sideScale = sideKind === "tile"
          ? 2 * gamma * 2 ** eOther
          : 2 ** (meta[2] - (sideBits - 1) + eOther);
        return (b: number) => sideProduct.addTo(stream, y, sideScale, b);
      };
      return () => {
        const e = ea[0] - (bitsA - 1) + eb[0] - (bitsB - 1);
        const scale = wide ? 1 : normalScale(e);
        const addSide = touchingSide();
        // The reference adds the bias after the side product: in the epilogue
        // only while no line carries one (side + 0 is the main product).
        const biasAfter = bias !== 0 && addSide !== undefined;
        const epilogueBias = bias !== 0 && !biasAfter && scale !== undefined;
        if (epilogueBias) {
          for (let j = 0; j < n; j++) {
            f32[(s + at.bias) / 4 + j] = f32[bias / 4 + j];
          }
        }
        for (let q = 0; q < count; q++) {
          const out = wide ? s + at.c : y + q * m * n * 4;
          if (packA(aq + d.indexA[q] * m * k, aLine, aK, m, k, s + at.a)) {
            throw new EngineError(
              `IntMatMul '${info.node.name}': an A mantissa is −128, outside the symmetric BFP range.`,
              info.node.name,
            );
          }
          packB(bq + d.indexB[q] * k * n, bLine, bK, n, k, s + at.b);
          run(
            s + at.a,
            s + at.b,
            out,
            m,
            n,
            ksteps,
            n,
            scale ?? 2 ** Math.min(Math.max(e, -126), 127),
            epilogueBias ? s + at.bias : 0,
            s,
            blockTiles,
          );
          const y0 = y / 4 + q * m * n;
          if (wide) {
            // α·(acc·2^e) and β·C in f64, rounded once: the reference's Gemm.
            const a0 = (s + at.c) / 4;
            const factor = alpha * 2 ** e;
            for (let i = 0; i < m * n; i++) {
              const ci = cLength === 0
                ? 0
                : cLength === 1
                ? beta * cv![0]
                : beta * cv![cLength === n ? i % n : i];
              f32[y0 + i] = Math.fround(i32[a0 + i] * factor + ci);
            }
          } else if (scale === undefined) {
            // A subnormal or huge scale: the clamped factor, then the rest.
            const rest = 2 ** (e - Math.min(Math.max(e, -126), 127));
            for (let i = 0; i < m * n; i++) {
              f32[y0 + i] = Math.fround(f32[y0 + i] * rest);
            }
          }
        }
        if (addSide !== undefined) {
          addSide(biasAfter ? bias : 0);
        } else if (bias !== 0 && !epilogueBias) {
          kernels.bias(y, bias, m, n);
        }
      };
    },
  };
}

/** The integer product kernel, on int8 GEMMs of inner-product `variant`. */
export function intMatMulKernels(variant: GemmVariant): KernelTable {
  return { IntMatMul: (info) => intMatMul(info, variant) };
}
