/**
 * Gradient rules of the operators that move elements without computing:
 * reshapes, transposes, broadcasts, slicing, joining and look-ups.
 *
 * @module
 */

import { intAttr } from "../../ir/graph.ts";
import { normalizeAxis } from "../../ops/op_def.ts";
import { permutation } from "../../ops/shape_rules.ts";
import { type GradContext, gradFor, type RuleTable } from "./rule.ts";

/** dX = Reshape(dY, shape(X)): the rule of every shape-only view. */
function reshapeBack(ctx: GradContext): (string | undefined)[] {
  const x = ctx.node.inputs[0];
  const dx = ctx.needs(0)
    ? ctx.op("Reshape", [ctx.grad(), ctx.ints(ctx.shape(x))])
    : undefined;
  return [dx, ...ctx.node.inputs.slice(1).map(() => undefined)];
}

/** The normalised `axis` attribute of the node against `rank`. */
function axisOf(ctx: GradContext, rank: number, fallback: number): number {
  return normalizeAxis(
    ctx.node,
    intAttr(ctx.node.attrs, "axis", fallback),
    rank,
  );
}

/** Shape gradient rules by operator. */
export const shapeRules: RuleTable = {
  /** Y = Reshape(X, s); dX = Reshape(dY, shape(X)). */
  Reshape: reshapeBack,
  /** Y = Flatten(X); dX = Reshape(dY, shape(X)). */
  Flatten: reshapeBack,
  /** Y = Squeeze(X, axes); dX = Reshape(dY, shape(X)). */
  Squeeze: reshapeBack,
  /** Y = Unsqueeze(X, axes); dX = Reshape(dY, shape(X)). */
  Unsqueeze: reshapeBack,

  /** Y = Transpose(X) {perm}; dX = Transpose(dY) {perm⁻¹}. */
  Transpose: (ctx) => {
    const perm = permutation(ctx.node, ctx.shape(ctx.node.inputs[0]).length);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [
      gradFor(ctx, 0, () =>
        ctx.op("Transpose", [ctx.grad()], {
          perm: { kind: "ints", value: inverse },
        })),
    ];
  },

  /** Y = Expand(X, s); dX = sumTo(dY, shape(X)). */
  Expand: (ctx) => [gradFor(ctx, 0, () => ctx.grad()), undefined],

  /**
   * Y = Gather(D, I) {axis}; dD = GatherGrad(dY, I) {axis, rows = dim of D}:
   * each gathered slice of dY added back at its index (an embedding
   * look-up's gradient touches only the rows looked up).
   */
  Gather: (ctx) => {
    const [data, indices] = ctx.node.inputs;
    const shape = ctx.shape(data);
    const axis = axisOf(ctx, shape.length, 0);
    return [
      gradFor(ctx, 0, () =>
        ctx.op("GatherGrad", [ctx.grad(), indices], {
          axis: { kind: "int", value: axis },
          rows: { kind: "int", value: shape[axis] },
        })),
      undefined,
    ];
  },

  /**
   * Y = Slice(X, starts, ends, axes, steps);
   * dX = SliceGrad(dY, starts, ends, axes, steps) {shape = shape(X)}: dY
   * where the slice read, zero elsewhere.
   */
  Slice: (ctx) => {
    const [x, ...operands] = ctx.node.inputs;
    return [
      gradFor(ctx, 0, () =>
        ctx.op("SliceGrad", [ctx.grad(), ...operands], {
          shape: { kind: "ints", value: ctx.shape(x) },
        })),
      ...operands.map(() => undefined),
    ];
  },

  /** Y = Concat(X₁…Xₙ) {axis}; dX₁…dXₙ = Split(dY, sizes) {axis}. */
  Concat: (ctx) => {
    const xs = ctx.node.inputs;
    const rank = ctx.shape(xs[0]).length;
    const axis = axisOf(ctx, rank, 0);
    const sizes = xs.map((x) => ctx.shape(x)[axis]);
    const parts = ctx.emit(
      "Split",
      [ctx.grad(), ctx.ints(sizes)],
      { axis: { kind: "int", value: axis } },
      xs.length,
    );
    return xs.map((_, i) => ctx.needs(i) ? parts[i] : undefined);
  },

  /**
   * Y₁…Yₙ = Split(X) {axis}; dX = Concat(dY₁…dYₙ) {axis}, a zero block for
   * each part the loss ignores.
   */
  Split: (ctx) => {
    const x = ctx.node.inputs[0];
    const axis = axisOf(ctx, ctx.shape(x).length, 0);
    const parts = () =>
      ctx.node.outputs.map((y, k) =>
        ctx.dy(k) ??
          ctx.op("Expand", [ctx.scalar(0, x), ctx.ints(ctx.shape(y))])
      );
    return [
      gradFor(
        ctx,
        0,
        () => ctx.op("Concat", parts(), { axis: { kind: "int", value: axis } }),
      ),
      ...ctx.node.inputs.slice(1).map(() => undefined),
    ];
  },
};
