/**
 * The post-training integer linear's kernel manifest: every shipped variant
 * of `linear_codes.ts` and the sizes its tests sweep (around the 16-element
 * step and the 16-column block, plus BERT-mini's widths).
 *
 * @module
 */

import type { F32Module, GenerateOptions } from "../f32/emit.ts";
import type { KernelFn } from "../f32/loader.ts";
import { generateDequantiseColumns } from "./dequantise_columns.ts";
import { generateQuantiseCodes } from "./linear_codes.ts";

/** Element counts and column counts the tests sweep. */
export const QUANTIZED_SIZES: readonly number[] = [
  1,
  2,
  3,
  15,
  16,
  17,
  31,
  33,
  256,
  1024,
];

/** Every kernel of the family: the code pass and both dequantising passes. */
export function allQuantizedKernels(
  options: GenerateOptions = {},
): F32Module<KernelFn>[] {
  return [
    generateQuantiseCodes(options),
    generateDequantiseColumns(false, options),
    generateDequantiseColumns(true, options),
  ];
}
