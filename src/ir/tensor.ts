/**
 * Dense tensors: the constants of the IR and the values of the reference
 * executor.
 *
 * @module
 */

import { allocate, coerce, type DType, type TensorData } from "./dtype.ts";

/** A dense row-major tensor. Treated as immutable once built. */
export interface Tensor {
  /** Element type. */
  readonly dtype: DType;
  /** Static shape; `[]` is a scalar. */
  readonly shape: readonly number[];
  /** Elements in row-major order; length is the product of `shape`. */
  readonly data: TensorData;
}

/** Number of elements of a static shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a static shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Builds a tensor, copying and coercing `values` when given (numbers are
 * rounded or wrapped to the dtype), zero-filled otherwise.
 */
export function tensor(
  dtype: DType,
  shape: readonly number[],
  values?: ArrayLike<number>,
): Tensor {
  const n = sizeOf(shape);
  const data = allocate(dtype, n);
  if (values !== undefined) {
    if (values.length !== n) {
      throw new RangeError(
        `Tensor of shape [${shape}] needs ${n} values, got ${values.length}.`,
      );
    }
    for (let i = 0; i < n; i++) data[i] = coerce(dtype, values[i]);
  }
  return { dtype, shape: [...shape], data };
}

/** A scalar tensor. */
export function scalar(dtype: DType, value: number): Tensor {
  return tensor(dtype, [], [value]);
}

/** The elements of a tensor as a plain number array. */
export function toNumbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number>);
}
