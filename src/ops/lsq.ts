/**
 * The LSQ+ activation quantiser (Bhalgat et al. 2020) as a trainable op,
 * for the fine stage of token-wise clipping (NUMERICS.md §4):
 *
 * - `LsqFakeQuant(x, scale, offset) {bits}`: with v = (x − offset)/scale and
 *   qmax = 2^bits − 1, y = scale·clamp(⌊v + ½⌋, 0, qmax) + offset.
 * - `LsqFakeQuantGrad(dy, x, scale, offset) {bits}` → (dx, dscale, doffset),
 *   each of x's shape (the gradient rule sums the last two back to the
 *   parameters' shapes): LSQ+'s straight-through estimator, where "inside"
 *   means 0 < v < qmax (LSQ tests v, not its rounding) —
 *   dx = dy inside, 0 outside;
 *   dscale = dy·(⌊v + ½⌋ − v) inside, dy·(the clamp bound, 0 or qmax) outside;
 *   doffset = 0 inside, dy outside.
 *   No LSQ gradient scale 1/√(N·qmax) is applied: Adam divides each
 *   parameter's update by its own gradient's magnitude, so a constant factor
 *   per parameter would cancel (up to ε).
 *
 * With offset = −z·scale this is the asymmetric zero-point quantiser of
 * `src/ptq/params.ts` ((clamp(⌊x/Δ + z + ½⌋) − z)·Δ; the two differ only by
 * the f32 rounding of x/Δ + z against (x − offset)/Δ); a learned offset
 * makes z non-integer. `scale` and `offset` broadcast to x (numpy rules);
 * the calibration uses f32 scalars (per tensor). Computed in double, rounded
 * once to x's dtype.
 *
 * @module
 */

import { isFloat } from "../ir/dtype.ts";
import { intAttr, type Node, type ValueType } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { broadcastIndex, broadcastShapes } from "./broadcast.ts";
import { inputTensor, inputType } from "./dims.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** The node's `bits` attribute, checked to lie in 2–16. */
function bitsOf(node: Node): number {
  const bits = intAttr(node.attrs, "bits", 8);
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) {
    throw new OpError(node, `bits must be from 2 to 16, got ${bits}.`);
  }
  return bits;
}

/** Checks the types of x, scale and offset; returns x's. */
function checkOperands(
  node: Node,
  types: readonly ValueType[],
): ValueType {
  const [x, scale, offset] = types;
  if (!isFloat(x.dtype)) {
    throw new OpError(node, `needs a float input, got ${x.dtype}.`);
  }
  for (const t of [scale, offset]) {
    if (t.dtype !== x.dtype) {
      throw new OpError(
        node,
        `scale and offset must be ${x.dtype} like x, got ${t.dtype}.`,
      );
    }
  }
  const out = broadcastShapes([x.shape, scale.shape, offset.shape]);
  if (out === undefined || out.join() !== x.shape.join()) {
    throw new OpError(
      node,
      `scale [${scale.shape}] and offset [${offset.shape}] must broadcast to x [${x.shape}].`,
    );
  }
  bitsOf(node);
  return x;
}

/** The forward of one element (the module doc's formula). */
export function lsqFakeQuantValue(
  x: number,
  scale: number,
  offset: number,
  bits: number,
): number {
  const q = Math.floor((x - offset) / scale + 0.5);
  return scale * Math.min(2 ** bits - 1, Math.max(0, q)) + offset;
}

/** The STE gradients (dx, dscale, doffset) of one element for upstream `dy`. */
export function lsqFakeQuantGradValue(
  dy: number,
  x: number,
  scale: number,
  offset: number,
  bits: number,
): [number, number, number] {
  const qmax = 2 ** bits - 1;
  const v = (x - offset) / scale;
  if (v <= 0) return [0, 0, dy];
  if (v >= qmax) return [0, dy * qmax, dy];
  return [dy, dy * (Math.floor(v + 0.5) - v), 0];
}

/** x, scale and offset as tensors from input `first` on, with broadcast maps. */
function operands(
  node: Node,
  inputs: readonly (Tensor | undefined)[],
  first: number,
) {
  const [x, scale, offset] = [0, 1, 2].map((i) =>
    inputTensor(node, inputs, first + i)
  );
  checkOperands(node, [x, scale, offset]);
  return {
    x,
    scale: scale.data,
    offset: offset.data,
    si: broadcastIndex(scale.shape, x.shape),
    oi: broadcastIndex(offset.shape, x.shape),
  };
}

const lsqFakeQuant: OpDef = {
  name: "LsqFakeQuant",
  summary:
    "LSQ+ quantiser: scale·clamp(⌊(x − offset)/scale + ½⌋, 0, 2^bits − 1) + offset.",
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    return [checkOperands(ctx.node, [0, 1, 2].map((i) => inputType(ctx, i)))];
  },
  evaluate(inputs, node) {
    const { x, scale, offset, si, oi } = operands(node, inputs, 0);
    const bits = bitsOf(node);
    const y = tensor(x.dtype, x.shape);
    for (let i = 0; i < x.data.length; i++) {
      y.data[i] = lsqFakeQuantValue(
        x.data[i] as number,
        scale[si[i]] as number,
        offset[oi[i]] as number,
        bits,
      );
    }
    return [y];
  },
};

const lsqFakeQuantGrad: OpDef = {
  name: "LsqFakeQuantGrad",
  summary:
    "LSQ+ straight-through gradients (dx, dscale, doffset) of LsqFakeQuant, each of x's shape.",
  inputs: [4, 4],
  outputs: [3, 3],
  infer(ctx) {
    const dy = inputType(ctx, 0);
    const x = checkOperands(
      ctx.node,
      [1, 2, 3].map((i) => inputType(ctx, i)),
    );
    if (dy.dtype !== x.dtype || dy.shape.join() !== x.shape.join()) {
      throw new OpError(
        ctx.node,
        `dy is ${dy.dtype}[${dy.shape}] but x is ${x.dtype}[${x.shape}].`,
      );
    }
    return [x, x, x];
  },
  evaluate(inputs, node) {
    const dy = inputTensor(node, inputs, 0);
    const { x, scale, offset, si, oi } = operands(node, inputs, 1);
    const bits = bitsOf(node);
    const outs = [0, 1, 2].map(() => tensor(x.dtype, x.shape));
    for (let i = 0; i < x.data.length; i++) {
      const g = lsqFakeQuantGradValue(
        dy.data[i] as number,
        x.data[i] as number,
        scale[si[i]] as number,
        offset[oi[i]] as number,
        bits,
      );
      for (let k = 0; k < 3; k++) outs[k].data[i] = g[k];
    }
    return outs;
  },
};

/** The LSQ+ operators. */
export const lsqOps: readonly OpDef[] = [lsqFakeQuant, lsqFakeQuantGrad];
