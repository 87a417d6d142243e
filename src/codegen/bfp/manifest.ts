/**
 * The BFP manifest: every map/unmap variant the project ships. The same list
 * drives the bit-exact sweep against the scalar reference
 * (tests/codegen/bfp) and {@link benchBfp}.
 * @module
 */

import type { BfpParams } from "./params.ts";

/** All shipped BFP kernel sets: b ∈ {8, 12, 16} × {rne, sr} × {tensor, row, col}. */
export const BFP_MANIFEST: readonly BfpParams[] = ([8, 12, 16] as const)
  .flatMap((bits) =>
    (["rne", "sr"] as const).flatMap((rounding) =>
      (["tensor", "row", "col"] as const).map((granularity) => ({
        bits,
        rounding,
        granularity,
      }))
    )
  );

/**
 * Edge-case row lengths: empty, below / at / above one vector (4) and one
 * chunk (8 and 16), several chunks with a tail.
 */
export const BFP_EDGE_LENGTHS: readonly number[] = [
  0,
  1,
  3,
  4,
  5,
  7,
  8,
  9,
  15,
  16,
  17,
  31,
  32,
  33,
  47,
  100,
];
