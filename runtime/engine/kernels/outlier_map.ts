/**
 * The engine-internal outlier maps that `lower_quantize.ts` puts in place of
 * `OutlierTile` and `OutlierSplit` (NUMERICS.md §3), on the generated BFP
 * kernels with the outlier prologues — the steps of
 * `src/codegen/outlier/kernel.ts`, so the streams equal the reference
 * operators' bit for bit:
 *
 * - `OutlierTileMap(x, seed?) → (q, e, side, meta, wide)`: q, e the BFP8
 *   remainder x − 2γk; side the k of the columns holding any k ≠ 0;
 * - `OutlierSplitMap(x, seed?) → (q, e, side, meta)`: q, e the BFP8
 *   inliers; side the BFP-`outlier_bits` outliers of the columns holding
 *   any |x| > γ (their exponent in meta), counters after the inliers'.
 *
 * The side stream is stored column-gathered, rows × |C| row-major, with
 * `meta` = [|C|, bytes per value, side exponent, C…]. Its slot holds
 * rows·cols bytes for Approach 2: k as int8, or as int16 when some
 * |k| > 127 (the wide path) and |C| ≤ cols/2 — beyond that the step is
 * refused, never clipped. Approach 1's slot holds rows·cols int16.
 *
 * @module
 */

import type { BfpParams } from "../../../src/codegen/bfp/mod.ts";
import {
  checkTileRange,
  K_INT8_MAX,
  splitPrologue,
  tileK,
  tilePrologue,
} from "../../../src/codegen/outlier/mod.ts";
import { floatAttr, intAttr } from "../../../src/ir/graph.ts";
import { EngineError } from "../errors.ts";
import {
  bfpFunctions,
  exponentAt,
  generatedBits,
  keysOf,
  roundingOf,
  writeScales,
} from "./bfp_module.ts";
import { matrixOf } from "./quantize.ts";
import {
  align64,
  type Kernel,
  type KernelTable,
  type NodeInfo,
  type Step,
} from "./types.ts";

/** Shared checks; the matrix view of x and the node's γ and rounding. */
function outlierInputs(info: NodeInfo) {
  const x = info.inputs[0];
  const stochastic = roundingOf(info.node) === "sr";
  if (x?.dtype !== "f32" || (stochastic && info.inputs[1] === undefined)) {
    return undefined;
  }
  const [rows, cols] = matrixOf(x.shape);
  return {
    rows,
    cols,
    gamma: floatAttr(info.node.attrs, "gamma", 5),
    tensor: (bits: 8 | 12 | 16): BfpParams => ({
      bits,
      rounding: roundingOf(info.node),
      granularity: "tensor",
    }),
  };
}

/** Approach 2: BFP8 remainder and column-gathered k. */
function outlierTileMap(info: NodeInfo): Kernel | undefined {
  const o = outlierInputs(info);
  if (o === undefined || intAttr(info.node.attrs, "bits", 8) !== 8) {
    return undefined;
  }
  const { rows, cols, gamma } = o;
  const colMaxAt = 128;
  return {
    scratchBytes: colMaxAt + align64(4 * cols),
    async build(rt): Promise<Step> {
      const columnMax = await bfpFunctions(rt, {
        ...o.tensor(8),
        granularity: "col",
      });
      const tile = await bfpFunctions(rt, o.tensor(8), tilePrologue(gamma));
      const f32 = new Float32Array(rt.memory.buffer);
      const [x, q, s] = [rt.input(0), rt.output(0), rt.scratch];
      const xv = rt.inputView(0);
      const e = rt.outputView(1) as Int32Array;
      const side8 = rt.outputView(2) as Int8Array;
      const side16 = new Int16Array(
        side8.buffer,
        side8.byteOffset,
        Math.floor(rows * cols / 2),
      );
      const meta = rt.outputView(3) as Int32Array;
      // The count of |k| > 127 is an optional output.
      const wide = info.outputs[4] && rt.outputView(4);
      const keys = keysOf(info.node, rt);
      return () => {
        columnMax.maxAbs(x, rows, cols, s + colMaxAt);
        const colMax = f32.subarray(
          (s + colMaxAt) / 4,
          (s + colMaxAt) / 4 + cols,
        );
        let maxAbs = 0;
        for (const v of colMax) {
          maxAbs = v > maxAbs || Number.isNaN(v) ? v : maxAbs;
        }
        checkTileRange(maxAbs, gamma);
        tile.maxAbs(x, rows, cols, s);
        e[0] = exponentAt(f32, s);
        writeScales(f32, s + 64, e, 8, "map");
        tile.map(x, q, rows, cols, s + 64, 0, ...keys());
        // |x| ≥ γ flags every column with k ≠ 0 (and those whose only such x is −γ).
        let kept = 0, wideCount = 0;
        for (let j = 0; j < cols; j++) {
          if (!(colMax[j] >= gamma)) continue;
          let any = false;
          for (let i = 0; i < rows; i++) {
            const kv = tileK(xv[i * cols + j], gamma);
            if (kv !== 0) any = true;
            if (kv > K_INT8_MAX || kv < -K_INT8_MAX) wideCount++;
          }
          if (any) meta[3 + kept++] = j;
        }
        const bytes = wideCount > 0 ? 2 : 1;
        if (rows * kept * bytes > rows * cols) {
          throw new EngineError(
            `OutlierTileMap '${info.node.name}': ${kept} of ${cols} columns hold outliers and ${wideCount} need |k| > 127; raise γ for this layer or use the reference backend.`,
            info.node.name,
          );
        }
        const out = bytes === 1 ? side8 : side16;
        for (let c = 0; c < kept; c++) {
          const j = meta[3 + c];
          for (let i = 0; i < rows; i++) {
            out[i * kept + c] = tileK(xv[i * cols + j], gamma);
          }
        }
        meta[0] = kept;
        meta[1] = bytes;
        meta[2] = 0;
        if (wide) wide[0] = wideCount;
      };
    },
  };
}

/** Approach 1: BFP8 inliers and column-gathered BFP outliers. */
function outlierSplitMap(info: NodeInfo): Kernel | undefined {
  const o = outlierInputs(info);
  const outBits = generatedBits(intAttr(info.node.attrs, "outlier_bits", 12));
  if (
    o === undefined || outBits === undefined ||
    intAttr(info.node.attrs, "inlier_bits", 8) !== 8
  ) return undefined;
  const { rows, cols, gamma } = o;
  const colMaxAt = 128, gatheredAt = colMaxAt + align64(4 * cols);
  return {
    scratchBytes: gatheredAt + align64(4 * rows * cols),
    async build(rt): Promise<Step> {
      const columnMax = await bfpFunctions(rt, {
        ...o.tensor(8),
        granularity: "col",
      });
      const inliers = await bfpFunctions(rt, o.tensor(8), splitPrologue(gamma));
      const outliers = await bfpFunctions(rt, o.tensor(outBits));
      const f32 = new Float32Array(rt.memory.buffer);
      const [x, q, side, s] = [
        rt.input(0),
        rt.output(0),
        rt.output(2),
        rt.scratch,
      ];
      const xv = rt.inputView(0);
      const e = rt.outputView(1) as Int32Array;
      const meta = rt.outputView(3) as Int32Array;
      const eOut = new Int32Array(1);
      const keys = keysOf(info.node, rt);
      return () => {
        columnMax.maxAbs(x, rows, cols, s + colMaxAt);
        const key = keys();
        inliers.maxAbs(x, rows, cols, s);
        e[0] = exponentAt(f32, s);
        writeScales(f32, s + 64, e, 8, "map");
        inliers.map(x, q, rows, cols, s + 64, 0, ...key);
        let width = 0;
        for (let j = 0; j < cols; j++) {
          if (f32[(s + colMaxAt) / 4 + j] > gamma) meta[3 + width++] = j;
        }
        const g0 = (s + gatheredAt) / 4;
        for (let i = 0; i < rows; i++) {
          for (let c = 0; c < width; c++) {
            const v = xv[i * cols + meta[3 + c]];
            f32[g0 + i * width + c] = Math.abs(v) > gamma ? v : 0;
          }
        }
        eOut[0] = 0;
        if (width > 0) {
          outliers.maxAbs(s + gatheredAt, rows, width, s);
          eOut[0] = exponentAt(f32, s);
          writeScales(f32, s + 64, eOut, outBits, "map");
          outliers.map(
            s + gatheredAt,
            side,
            rows,
            width,
            s + 64,
            rows * cols,
            ...key,
          );
        }
        meta[0] = width;
        meta[1] = outBits === 8 ? 1 : 2;
        meta[2] = eOut[0];
      };
    },
  };
}

/** The outlier map kernels. */
export const outlierMapKernels: KernelTable = {
  OutlierTileMap: outlierTileMap,
  OutlierSplitMap: outlierSplitMap,
};
