/**
 * The IR operator registry: every operator the IR, the passes and the
 * reference executor know, by name.
 *
 * @module
 */

import type { OpDef } from "./op_def.ts";
import { activationOps } from "./activation.ts";
import { castOps } from "./cast.ts";
import { elementwiseOps } from "./elementwise.ts";
import { gatherOps } from "./gather.ts";
import { generatorOps } from "./generators.ts";
import { gradientOps } from "./gradient_ops.ts";
import { llmInt8Ops } from "./llm_int8.ts";
import { logicalOps } from "./logical.ts";
import { lsqOps } from "./lsq.ts";
import { matmulOps } from "./matmul.ts";
import { normalizationOps } from "./normalization.ts";
import { optimizerOps } from "./optimizer_ops.ts";
import { quantizeOps } from "./quantize_ops.ts";
import { quantizedMatMulOps } from "./quantized_matmul.ts";
import { reduceOps } from "./reduce.ts";
import { shapeOps } from "./shape_ops.ts";
import { sliceSplitOps } from "./slice_split.ts";

export type { InferContext, OpDef } from "./op_def.ts";
export { OpError } from "./op_def.ts";

const REGISTRY: ReadonlyMap<string, OpDef> = new Map(
  [
    ...activationOps,
    ...castOps,
    ...elementwiseOps,
    ...gatherOps,
    ...generatorOps,
    ...gradientOps,
    ...llmInt8Ops,
    ...logicalOps,
    ...lsqOps,
    ...matmulOps,
    ...normalizationOps,
    ...optimizerOps,
    ...quantizeOps,
    ...quantizedMatMulOps,
    ...reduceOps,
    ...shapeOps,
    ...sliceSplitOps,
  ].map((def) => [def.name, def]),
);

/** The definition of IR operator `name`, or `undefined`. */
export function findOp(name: string): OpDef | undefined {
  return REGISTRY.get(name);
}

/** The definition of IR operator `name`; throws when unknown. */
export function getOp(name: string): OpDef {
  const def = REGISTRY.get(name);
  if (def === undefined) throw new Error(`Unknown IR operator '${name}'.`);
  return def;
}

/** Every registered operator, sorted by name. */
export function allOps(): OpDef[] {
  return [...REGISTRY.values()].sort((a, b) => a.name.localeCompare(b.name));
}
