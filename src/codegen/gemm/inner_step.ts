/**
 * The contract between the shared GEMM driver and a family's inner-product
 * step: the driver owns loops, B loads, accumulator init and the epilogue; the
 * step emits one k-step of multiply-accumulates for the whole register tile.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";

/** Locals the driver hands to a step. */
export interface InnerStepContext {
  /** v128 accumulators, `acc[row][columnGroup]` (4 columns a group). */
  readonly acc: Local[][];
  /** This k-step's B vectors, one per column group, already loaded. */
  readonly bv: Local[];
  /** Pointer to the packed A of the current (unrolled) loop iteration. */
  readonly aPtr: Local;
  /** Byte offset of this k-step's A (`mr` rows × aRowStepBytes) from `aPtr`. */
  readonly aOffset: number;
  /** A v128 scratch local for the broadcast A value. */
  readonly splat: Local;
}

/** Emits one k-step of multiply-accumulates. */
export type InnerStep = (f: FunctionEmitter, ctx: InnerStepContext) => void;
