/**
 * Batched f32 products (attention's per-head Q·Kᵀ and P·V) on the GEMM
 * module's `gemmBatch` export (`src/codegen/gemm/gemm_batch.ts`): every
 * product packs into its own work region, so the engine's threads share one
 * call by products. One head's 128×64×128 GEMM is far below the size at
 * which splitting its rows pays; 32 of them side by side are not.
 *
 * @module
 */

import {
  A_BLOCK_BYTES,
  gemmLayout,
  type GemmParams,
  kSteps,
  packedASize,
  packedBSize,
} from "../../../src/codegen/gemm/mod.ts";
import { gemmSource } from "./gemm_source.ts";
import { align64, type KernelRuntime, type SplitSpec } from "./types.ts";

/** Where one product's edge tile, packed A and packed B sit in its work region. */
export interface BatchLayout {
  /** Bytes from one product's work region to the next. */
  readonly workStep: number;
  /** Offset of packed A in a work region (the edge tile comes first). */
  readonly aAt: number;
  /** Offset of packed B. */
  readonly bAt: number;
}

/** The work region layout of one m×k by k×n product. */
export function batchLayout(
  p: GemmParams,
  m: number,
  k: number,
  n: number,
): BatchLayout {
  const aAt = align64(p.mr * p.nr * 4);
  const bAt = aAt + align64(packedASize(p, m, k));
  return { workStep: bAt + align64(packedBSize(p, k, n)), aAt, bAt };
}

/**
 * The byte step between consecutive products' operands when the batch
 * indices advance evenly (`index[q] = index[0] + q·d`, `d` ≥ 0, covering a
 * broadcast operand with d = 0), else undefined.
 */
export function evenStep(
  index: Int32Array,
  bytesPerMatrix: number,
): number | undefined {
  const d = index.length > 1 ? index[1] - index[0] : 0;
  if (d < 0) return undefined;
  for (let q = 1; q < index.length; q++) {
    if (index[q] - index[q - 1] !== d) return undefined;
  }
  return d * bytesPerMatrix;
}

/**
 * How a `gemmBatch` call divides: by products, A, B, C and the work region
 * advancing their steps (arguments 3, 7, 9 and 15) per product.
 */
export const BATCH_SPLIT: SplitSpec = {
  count: 10,
  grain: 1,
  plan(args) {
    const [m, k, n] = [args[11], args[12], args[13]];
    return {
      pointers: [[0, args[3]], [4, args[7]], [8, args[9]], [14, args[15]]],
      bytesPerUnit: 4 * (m * k + k * n + m * n),
    };
  },
};

/** A strided f32 operand: byte address of product 0, element strides, byte step per product. */
export interface BatchOperand {
  readonly at: number;
  readonly rowStride: number;
  readonly colStride: number;
  readonly step: number;
}

/**
 * Bytes of work regions a batch may take: BERT-mini's 32 heads (about
 * 100 KB each) fit in one call; BERT-base at sequence 512 (384 heads of
 * 256 KB) runs 32 at a time instead of taking 96 MB of scratch.
 */
const MAX_WORK_BYTES = 8 << 20;

/** Products per `gemmBatch` call, and the scratch bytes their work regions take. */
export function batchGroup(
  p: GemmParams,
  dims: { m: number; k: number; n: number; count: number },
): { group: number; bytes: number } {
  const { workStep } = batchLayout(p, dims.m, dims.k, dims.n);
  const group = Math.max(
    1,
    Math.min(dims.count, Math.floor(MAX_WORK_BYTES / workStep)),
  );
  return { group, bytes: group * workStep };
}

/**
 * Binds `count` products C_q = A_q·B_q (m×k by k×n, C row-major with row
 * stride n and step m·n) to the engine's f32 GEMM `p`, with the work
 * regions of {@linkcode batchGroup} from byte `work` on; returns the step
 * running all of them, a group per call.
 */
export async function bindBatch(
  rt: KernelRuntime,
  p: GemmParams,
  dims: { m: number; k: number; n: number; count: number },
  work: number,
): Promise<(a: BatchOperand, b: BatchOperand, c: number) => void> {
  const { m, k, n, count } = dims;
  const batch = await rt.split(
    gemmSource(p, rt.shared),
    "gemmBatch",
    BATCH_SPLIT,
  );
  const { workStep, aAt, bAt } = batchLayout(p, m, k, n);
  const { group } = batchGroup(p, dims);
  const aTileBytes = kSteps(p, k) * p.mr * gemmLayout(p).aRowStepBytes;
  const blockTiles = Math.max(1, Math.floor(A_BLOCK_BYTES / aTileBytes));
  const cStep = m * n * 4;
  return (a, b, c) => {
    for (let q = 0; q < count; q += group) {
      batch(
        a.at + q * a.step,
        a.rowStride,
        a.colStride,
        a.step,
        b.at + q * b.step,
        b.rowStride,
        b.colStride,
        b.step,
        c + q * cStep,
        cStep,
        Math.min(group, count - q),
        m,
        k,
        n,
        work,
        workStep,
        aAt,
        bAt,
        blockTiles,
      );
    }
  };
}
