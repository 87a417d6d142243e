/**
 * The batched product of the f32 GEMM module: `count` independent products
 * C_q = A_q·B_q (attention's per-head Q·Kᵀ and P·V), each packed into its
 * own work region and multiplied by the module's `gemm`. With its own work
 * per product, a range of products is independent of every other range, so
 * the engine splits one call between its threads by products — the per-head
 * GEMMs are far below the size at which splitting one product's rows pays.
 *
 * Exported signature (strides in elements, pointers and steps in bytes):
 * `gemmBatch(a, aRowStride, aColStride, aStep, b, bRowStride, bColStride,
 * bStep, c, cStep, count, m, k, n, work, workStep, aAt, bAt, blockTiles)`:
 * product q reads A (m×k) at a + q·aStep and B (k×n) at b + q·bStep, writes C
 * (m×n, row stride n) at c + q·cStep, and packs A at work + q·workStep + aAt
 * and B at + bAt; the first mr·nr·4 bytes of its work are the edge tile.
 * Each product is computed exactly as `packA`, `packB` and `gemm` compute it
 * alone (scale 1, no bias).
 * @module
 */

import type { FuncRef, ModuleBuilder } from "../wasm/mod.ts";
import { forLoop } from "./emit_util.ts";
import { gemmLayout, type GemmParams } from "./params.ts";

/** The module's functions the batch calls. */
export interface BatchCallees {
  /** `gemm(a, b, c, m, n, ksteps, ldc, scale, bias, scratch, blockTiles)`. */
  readonly gemm: FuncRef;
  /** `packA(src, lineStride, kStride, lines, kLen, dst) → i32`. */
  readonly packA: FuncRef;
  /** `packB(src, lineStride, kStride, lines, kLen, dst) → i32`. */
  readonly packB: FuncRef;
}

/** Parameter names of `gemmBatch`, in order (the split plan indexes them). */
export const BATCH_PARAMS = [
  "a",
  "aRowStride",
  "aColStride",
  "aStep",
  "b",
  "bRowStride",
  "bColStride",
  "bStep",
  "c",
  "cStep",
  "count",
  "m",
  "k",
  "n",
  "work",
  "workStep",
  "aAt",
  "bAt",
  "blockTiles",
] as const;

/** Adds and exports `gemmBatch` for f32 tile `p`, calling `callees`. */
export function addBatchFunction(
  mb: ModuleBuilder,
  p: GemmParams,
  callees: BatchCallees,
): void {
  if (p.family !== "f32") {
    throw new Error(`gemmBatch is generated for f32 GEMMs, not ${p.family}.`);
  }
  const { kStep } = gemmLayout(p);
  const fn = mb.addFunction(
    `gemm_batch_f32_${p.mr}x${p.nr}_${p.variant}`,
    BATCH_PARAMS.map((name) => [name, "i32"] as const),
    [],
    (f) => {
      const P = (name: (typeof BATCH_PARAMS)[number]) => f.param(name);
      const q = f.local("i32", "q"), ksteps = f.local("i32", "ksteps");
      const packedA = f.local("i32", "packedA");
      const packedB = f.local("i32", "packedB");
      f.emit("local.get", P("k")).emit("i32.const", kStep - 1).emit("i32.add")
        .emit("i32.const", kStep).emit("i32.div_u").emit("local.set", ksteps);
      forLoop(f, q, () => f.emit("i32.const", 0), P("count"), 1, () => {
        f.emit("local.get", P("work")).emit("local.get", P("aAt"))
          .emit("i32.add").emit("local.set", packedA);
        f.emit("local.get", P("work")).emit("local.get", P("bAt"))
          .emit("i32.add").emit("local.set", packedB);
        // A's rows are its lines; B's columns are its lines.
        for (
          const [src, line, kStride, lines, dst, pack] of [
            ["a", "aRowStride", "aColStride", "m", packedA, callees.packA],
            ["b", "bColStride", "bRowStride", "n", packedB, callees.packB],
          ] as const
        ) {
          f.emit("local.get", P(src)).emit("local.get", P(line))
            .emit("local.get", P(kStride)).emit("local.get", P(lines))
            .emit("local.get", P("k")).emit("local.get", dst)
            .emit("call", pack).emit("drop");
        }
        f.emit("local.get", packedA).emit("local.get", packedB)
          .emit("local.get", P("c")).emit("local.get", P("m"))
          .emit("local.get", P("n")).emit("local.get", ksteps)
          .emit("local.get", P("n")).emit("f32.const", 1)
          .emit("i32.const", 0).emit("local.get", P("work"))
          .emit("local.get", P("blockTiles")).emit("call", callees.gemm);
        for (
          const [pointer, step] of [
            ["a", "aStep"],
            ["b", "bStep"],
            ["c", "cStep"],
            ["work", "workStep"],
          ] as const
        ) {
          f.emit("local.get", P(pointer)).emit("local.get", P(step))
            .emit("i32.add").emit("local.set", P(pointer));
        }
      });
    },
  );
  mb.exportFunction("gemmBatch", fn);
}
