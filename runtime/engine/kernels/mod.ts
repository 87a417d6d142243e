/**
 * The kernel dispatch table: for each IR operator, the implementations to
 * try in order (the first that accepts the node's types and attributes
 * wins). A node none accepts runs on the reference fallback, which the
 * engine counts.
 *
 * @module
 */

import type { GemmParams, GemmVariant } from "../../../src/codegen/gemm/mod.ts";
import { elementwiseKernels } from "./elementwise.ts";
import { f32Kernels } from "./f32.ts";
import { intMatMulKernels } from "./int_matmul.ts";
import { matmulKernels } from "./matmul.ts";
import { movementKernels } from "./movement.ts";
import { outlierMapKernels } from "./outlier_map.ts";
import { quantizeKernels } from "./quantize.ts";
import { quantizedMatMulKernels } from "./quantized_matmul.ts";
import { reduceKernels } from "./reduce.ts";
import { trainingKernels } from "./training.ts";
import type { KernelFactory, KernelTable } from "./types.ts";

export { referenceKernel } from "./fallback.ts";
export type * from "./types.ts";

/** Implementations per operator, most specialised first. */
export type DispatchTable = ReadonlyMap<string, readonly KernelFactory[]>;

/**
 * The engine's dispatch table: the f32 GEMM (tile `gemm`) for products,
 * the generated f32 kernels, the integer path of the quantising recipes
 * (BFP maps, outlier maps, int8 GEMM of inner-product `int8`), the
 * post-training integer linear, then the TypeScript kernels.
 */
export function dispatchTable(
  gemm: GemmParams,
  int8: GemmVariant,
): DispatchTable {
  const tables: KernelTable[] = [
    matmulKernels(gemm),
    f32Kernels,
    quantizeKernels,
    outlierMapKernels,
    intMatMulKernels(int8),
    quantizedMatMulKernels(int8),
    movementKernels,
    elementwiseKernels,
    reduceKernels,
    trainingKernels,
  ];
  const table = new Map<string, KernelFactory[]>();
  for (const t of tables) {
    for (const [op, factory] of Object.entries(t)) {
      table.set(op, [...(table.get(op) ?? []), factory]);
    }
  }
  return table;
}
