/**
 * Options and limits of the outlier treatments of NUMERICS.md §3: the
 * threshold γ, the k ranges of Approach 2, and the error they raise.
 * @module
 */

/** The paper's threshold: |x| > γ is an outlier. */
export const DEFAULT_GAMMA = 5;

/** Largest |k| the int8 k path holds; beyond it the tensor takes the int16 path. */
export const K_INT8_MAX = 127;

/** Largest |k| the int16 k path holds; beyond it the tensor is refused. */
export const K_INT16_MAX = 32767;

/** Thrown for a threshold or an input the outlier treatments cannot represent. */
export class OutlierError extends RangeError {
  /** Creates the error; `message` says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "OutlierError";
  }
}

/**
 * Throws {@link OutlierError} unless γ is usable: a positive f32 whose 2γ has
 * at most 8 significant bits, so that 2γ·k is exact in f32 for every
 * |k| ≤ {@link K_INT16_MAX} + 1 (8 + 16 bits ≤ 24) — which is what makes the
 * tile remainder x − 2γk exact in the f32 kernel. γ = 5 (2γ = 0b1010) qualifies.
 */
export function checkGamma(gamma: number): void {
  if (!(gamma > 0) || !Number.isFinite(gamma) || Math.fround(gamma) !== gamma) {
    throw new OutlierError(`γ must be a positive finite f32, got ${gamma}.`);
  }
  let m = 2 * gamma;
  while (!Number.isInteger(m)) m *= 2;
  while (m % 2 === 0) m /= 2;
  if (m >= 256) {
    throw new OutlierError(
      `2γ = ${
        2 * gamma
      } has more than 8 significant bits, so 2γ·k would round in f32; pick a γ like 5, 4 or 6.`,
    );
  }
}
