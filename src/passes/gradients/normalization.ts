/**
 * Gradient rules of the normalisations and reductions: LayerNorm, Softmax,
 * LogSoftmax, ReduceSum and ReduceMean.
 *
 * @module
 */

import { intAttr } from "../../ir/graph.ts";
import { normalizeAxis } from "../../ops/op_def.ts";
import {
  type GradContext,
  gradFor,
  reshapeTo,
  type RuleTable,
  sameShape,
} from "./rule.ts";

/** The normalised `axis` attribute (default −1) against the input's rank. */
function axisOf(ctx: GradContext): number {
  const rank = ctx.shape(ctx.node.inputs[0]).length;
  return normalizeAxis(ctx.node, intAttr(ctx.node.attrs, "axis", -1), rank);
}

/** The axes a ReduceSum/ReduceMean node folds, all of them when none given. */
function reducedAxes(ctx: GradContext): number[] {
  const [x, axes] = ctx.node.inputs;
  const rank = ctx.shape(x).length;
  const all = [...Array(rank).keys()];
  if (axes === undefined || axes === "") {
    return intAttr(ctx.node.attrs, "noop_with_empty_axes", 0) ? [] : all;
  }
  const value = ctx.constantValue(axes);
  if (value === undefined) ctx.fail("axes must be a constant.");
  if (value.data.length === 0) {
    return intAttr(ctx.node.attrs, "noop_with_empty_axes", 0) ? [] : all;
  }
  return Array.from(value.data, (a) => normalizeAxis(ctx.node, a, rank));
}

/**
 * The reduce rules: Y = ReduceSum(X, axes) gives dX = Expand(dY as kept
 * dims, shape(X)); ReduceMean scales that by 1/count.
 */
function reduceRule(mean: boolean) {
  return (ctx: GradContext) => [
    gradFor(ctx, 0, () => {
      const x = ctx.node.inputs[0];
      const shape = ctx.shape(x);
      const axes = reducedAxes(ctx);
      const kept = shape.map((d, i) => axes.includes(i) ? 1 : d);
      let g = reshapeTo(ctx, ctx.grad(), kept);
      if (mean) {
        const count = axes.reduce((p, a) => p * shape[a], 1);
        g = ctx.op("Mul", [g, ctx.scalar(1 / count, x)]);
      }
      return sameShape(kept, shape)
        ? g
        : ctx.op("Expand", [g, ctx.ints(shape)]);
    }),
    undefined,
  ];
}

/** Normalisation and reduction gradient rules by operator. */
export const normalizationRules: RuleTable = {
  /**
   * Y = LayerNorm(X, scale, bias) {axis, epsilon};
   * dX, dscale, dbias = LayerNormGrad(dY, X, scale) {axis, epsilon}, where
   * dX = r·(g − mean(g) − x̂·mean(g·x̂)), g = dY·scale, x̂ the normalised X,
   * r = 1/√(σ²+ε); dscale = Σ dY·x̂, dbias = Σ dY over the broadcast dims.
   * The Mean and InvStdDev outputs carry no gradient.
   */
  LayerNorm: (ctx) => {
    const [x, scale, bias] = ctx.node.inputs;
    if (ctx.node.outputs.slice(1).some((_, k) => ctx.dy(k + 1))) {
      ctx.fail("the Mean and InvStdDev outputs are not differentiable.");
    }
    const hasBias = bias !== undefined && bias !== "";
    if (hasBias && !sameShape(ctx.shape(bias), ctx.shape(scale))) {
      ctx.fail("bias and scale must have the same shape.");
    }
    const [dx, dscale, dbias] = ctx.emit(
      "LayerNormGrad",
      [ctx.grad(), x, scale],
      {
        axis: { kind: "int", value: axisOf(ctx) },
        epsilon: ctx.node.attrs.epsilon ?? { kind: "float", value: 1e-5 },
      },
      3,
    );
    return [
      ctx.needs(0) ? dx : undefined,
      ctx.needs(1) ? dscale : undefined,
      hasBias && ctx.needs(2) ? dbias : undefined,
    ];
  },

  /** Y = Softmax(X) {axis}; dX = SoftmaxGrad(dY, Y) {axis} = Y·(dY − Σ dY·Y). */
  Softmax: (ctx) => [
    gradFor(
      ctx,
      0,
      () =>
        ctx.op("SoftmaxGrad", [ctx.grad(), ctx.node.outputs[0]], {
          axis: { kind: "int", value: axisOf(ctx) },
        }),
    ),
  ],

  /** Y = LogSoftmax(X) {axis}; dX = dY − exp(Y)·Σ_axis dY. */
  LogSoftmax: (ctx) => [
    gradFor(ctx, 0, () => {
      const dy = ctx.grad();
      const total = ctx.op("ReduceSum", [dy, ctx.ints([axisOf(ctx)])], {
        keepdims: { kind: "int", value: 1 },
      });
      const p = ctx.op("Exp", [ctx.node.outputs[0]]);
      return ctx.op("Sub", [dy, ctx.op("Mul", [p, total])]);
    }),
  ],

  /** Y = ReduceSum(X, axes); dX = Expand(dY with kept dims, shape(X)). */
  ReduceSum: reduceRule(false),

  /** Y = ReduceMean(X, axes); dX = Expand(dY with kept dims, shape(X)) / count. */
  ReduceMean: reduceRule(true),
};
