/**
 * Gradient rules of the elementwise operators. Binary operators broadcast,
 * so each operand's gradient is summed back to its shape ({@linkcode sumTo}).
 *
 * @module
 */

import { tensor } from "../../ir/tensor.ts";
import { onnxFromDtype } from "../../ops/cast.ts";
import { type GradContext, gradFor, type RuleTable } from "./rule.ts";

/** The forward operands and output of the node. */
function io(ctx: GradContext): { a: string; b: string; y: string } {
  const [a, b] = ctx.node.inputs;
  return { a, b, y: ctx.node.outputs[0] };
}

/** A rule whose one input's gradient is `dX = f(dY)` with no broadcast. */
function unary(
  f: (ctx: GradContext, dy: string, x: string, y: string) => string,
) {
  return (ctx: GradContext) => {
    const { a, y } = io(ctx);
    return [gradFor(ctx, 0, () => f(ctx, ctx.grad(), a, y))];
  };
}

/** Elementwise gradient rules by operator. */
export const elementwiseRules: RuleTable = {
  /** Y = A + B; dA = sumTo(dY), dB = sumTo(dY). */
  Add: (ctx) => [
    gradFor(ctx, 0, () => ctx.grad()),
    gradFor(ctx, 1, () => ctx.grad()),
  ],

  /** Y = A − B; dA = sumTo(dY), dB = sumTo(−dY). */
  Sub: (ctx) => [
    gradFor(ctx, 0, () => ctx.grad()),
    gradFor(ctx, 1, () => ctx.op("Neg", [ctx.grad()])),
  ],

  /** Y = A·B; dA = sumTo(dY·B), dB = sumTo(dY·A). */
  Mul: (ctx) => {
    const { a, b } = io(ctx);
    return [
      gradFor(ctx, 0, () => ctx.op("Mul", [ctx.grad(), b])),
      gradFor(ctx, 1, () => ctx.op("Mul", [ctx.grad(), a])),
    ];
  },

  /** Y = A/B; dA = sumTo(dY/B), dB = sumTo(−dY·Y/B). */
  Div: (ctx) => {
    const { b, y } = io(ctx);
    return [
      gradFor(ctx, 0, () => ctx.op("Div", [ctx.grad(), b])),
      gradFor(ctx, 1, () => {
        const q = ctx.op("Div", [ctx.op("Mul", [ctx.grad(), y]), b]);
        return ctx.op("Neg", [q]);
      }),
    ];
  },

  /**
   * Y = X^p, p a constant; dX = sumTo(dY·p·X^(p−1)). A trainable or
   * computed exponent has no rule.
   */
  Pow: (ctx) => {
    const { a, b } = io(ctx);
    const p = ctx.constantValue(b);
    if (p === undefined || ctx.needs(1)) {
      return ctx.fail("only a constant exponent is differentiable.");
    }
    const like = ctx.type(a).dtype;
    const values = Array.from(p.data);
    const shifted = ctx.constant(
      tensor(like, p.shape, values.map((v) => v - 1)),
    );
    const scale = ctx.constant(tensor(like, p.shape, values));
    return [
      gradFor(ctx, 0, () => {
        const slope = ctx.op("Mul", [ctx.op("Pow", [a, shifted]), scale]);
        return ctx.op("Mul", [ctx.grad(), slope]);
      }),
      undefined,
    ];
  },

  /** Y = √X; dX = dY·0.5/Y. */
  Sqrt: unary((ctx, dy, _x, y) =>
    ctx.op("Mul", [ctx.op("Div", [dy, y]), ctx.scalar(0.5, y)])
  ),

  /** Y = tanh X; dX = TanhGrad(dY, Y) = dY·(1 − Y²). */
  Tanh: unary((ctx, dy, _x, y) => ctx.op("TanhGrad", [dy, y])),

  /** Y = erf X; dX = dY·(2/√π)·exp(−X²). */
  Erf: unary((ctx, dy, x) => {
    const e = ctx.op("Exp", [ctx.op("Neg", [ctx.op("Mul", [x, x])])]);
    const slope = ctx.op("Mul", [e, ctx.scalar(2 / Math.sqrt(Math.PI), x)]);
    return ctx.op("Mul", [dy, slope]);
  }),

  /** Y = Gelu(X) {approximate}; dX = GeluGrad(dY, X) {approximate}. */
  Gelu: unary((ctx, dy, x) => ctx.op("GeluGrad", [dy, x], ctx.node.attrs)),

  /** Y = max(X, 0); dX = Where(X > 0, dY, 0). */
  Relu: unary((ctx, dy, x) => {
    const zero = ctx.scalar(0, x);
    return ctx.op("Where", [ctx.op("Greater", [x, zero]), dy, zero]);
  }),

  /** Y = −X; dX = −dY. */
  Neg: unary((ctx, dy) => ctx.op("Neg", [dy])),

  /** Y = eˣ; dX = dY·Y. */
  Exp: unary((ctx, dy, _x, y) => ctx.op("Mul", [dy, y])),

  /** Y = ln X; dX = dY/X. */
  Log: unary((ctx, dy, x) => ctx.op("Div", [dy, x])),

  /** Y = 1/X; dX = −dY·Y². */
  Reciprocal: unary((ctx, dy, _x, y) =>
    ctx.op("Neg", [ctx.op("Mul", [dy, ctx.op("Mul", [y, y])])])
  ),

  /** Y = σ(X); dX = dY·Y·(1 − Y). */
  Sigmoid: unary((ctx, dy, _x, y) => {
    const complement = ctx.op("Sub", [ctx.scalar(1, y), y]);
    return ctx.op("Mul", [dy, ctx.op("Mul", [y, complement])]);
  }),

  /** Y = X; dX = dY. */
  Identity: unary((_ctx, dy) => dy),

  /**
   * Y, mask = Dropout(X) outside training, the identity; dX = dY. (The
   * training form is DropoutTrain.)
   */
  Dropout: (ctx) => [
    gradFor(ctx, 0, () => ctx.grad()),
    ...ctx.node.inputs.slice(1).map(() => undefined),
  ],

  /**
   * Y = Cast(X) {to} between float types; dX = Cast(dY) {to = X's type}.
   * Integer values carry no gradient, so no cast to an integer type is on
   * a gradient path.
   */
  Cast: unary((ctx, dy, x) =>
    ctx.op("Cast", [dy], {
      to: { kind: "int", value: onnxFromDtype(ctx.type(x).dtype) },
    })
  ),

  /** Y = Where(C, A, B); dA = sumTo(Where(C, dY, 0)), dB = sumTo(Where(C, 0, dY)). */
  Where: (ctx) => {
    const [c, a] = ctx.node.inputs;
    const zero = () => ctx.scalar(0, a);
    return [
      undefined,
      gradFor(ctx, 1, () => ctx.op("Where", [c, ctx.grad(), zero()])),
      gradFor(ctx, 2, () => ctx.op("Where", [c, zero(), ctx.grad()])),
    ];
  },
};
