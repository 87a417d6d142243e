/**
 * The parameter domain of the BFP (dynamic fixed point) kernels and their
 * naming scheme (NUMERICS.md §1). Names encode every parameter that changes
 * the generated code: `bfp_map_b<bits>_<rounding>_<granularity>`,
 * `bfp_unmap_b<bits>_<granularity>`, `bfp_maxabs_<granularity>`, e.g.
 * `bfp_map_b8_rne_tensor`, `bfp_map_b8_sr_row`, `bfp_unmap_b12_col`.
 * @module
 */

/** Integer width of the mapped values, sign included. */
export type BfpBits = 8 | 12 | 16;

/**
 * R in NUMERICS.md §1: `rne` rounds to nearest, ties to even (evaluation);
 * `sr` rounds stochastically, R(y) = ⌊y⌋ + [u < y − ⌊y⌋] (training).
 */
export type BfpRounding = "rne" | "sr";

/**
 * Which elements share one exponent: the whole tensor, one row (a token of
 * X[M,K]) or one column (an output channel of W[K,N]).
 */
export type BfpGranularity = "tensor" | "row" | "col";

/** Parameters of one generated BFP kernel set. */
export interface BfpParams {
  /** Integer width b. */
  readonly bits: BfpBits;
  /** Rounding mode of the map. */
  readonly rounding: BfpRounding;
  /** Exponent sharing. */
  readonly granularity: BfpGranularity;
}

/** Thrown for parameters or inputs outside what the BFP format defines. */
export class BfpError extends RangeError {
  /** Creates the error; `message` says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "BfpError";
  }
}

/** Throws {@link BfpError} unless `p` is in the generator's domain. */
export function checkBfpParams(p: BfpParams): void {
  if (p.bits !== 8 && p.bits !== 12 && p.bits !== 16) {
    throw new BfpError(`BFP width must be 8, 12 or 16 bits, got ${p.bits}.`);
  }
  if (p.rounding !== "rne" && p.rounding !== "sr") {
    throw new BfpError(`BFP rounding must be rne or sr, got ${p.rounding}.`);
  }
  if (!["tensor", "row", "col"].includes(p.granularity)) {
    throw new BfpError(
      `BFP granularity must be tensor, row or col, got ${p.granularity}.`,
    );
  }
}

/** Largest magnitude a b-bit BFP value takes: 2^(b−1) − 1 (symmetric range). */
export function bfpLimit(bits: BfpBits): number {
  return 2 ** (bits - 1) - 1;
}

/** Bytes per stored value: int8 for b = 8, int16 for 12 and 16. */
export function bfpElementBytes(bits: BfpBits): 1 | 2 {
  return bits === 8 ? 1 : 2;
}

/** Name of the map kernel for `p`, e.g. `bfp_map_b8_rne_tensor`. */
export function bfpMapName(p: BfpParams): string {
  return `bfp_map_b${p.bits}_${p.rounding}_${p.granularity}`;
}

/** Name of the dequantise kernel for `p`, e.g. `bfp_unmap_b8_tensor`. */
export function bfpUnmapName(p: BfpParams): string {
  return `bfp_unmap_b${p.bits}_${p.granularity}`;
}

/** Name of the max-abs kernel for `granularity`, e.g. `bfp_maxabs_row`. */
export function bfpMaxAbsName(granularity: BfpGranularity): string {
  return `bfp_maxabs_${granularity}`;
}
