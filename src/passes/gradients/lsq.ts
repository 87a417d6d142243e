/**
 * Gradient rule of the LSQ+ quantiser (`src/ops/lsq.ts`): one
 * `LsqFakeQuantGrad` node gives the straight-through gradients of x, scale
 * and offset elementwise; scale's and offset's are summed back to their
 * (broadcast) shapes.
 *
 * @module
 */

import { type GradContext, gradFor, type RuleTable } from "./rule.ts";

/** The LSQ+ gradient rule by operator. */
export const lsqRules: RuleTable = {
  /**
   * Y = LsqFakeQuant(X, S, O) {bits};
   * (dX, dS·, dO·) = LsqFakeQuantGrad(dY, X, S, O) {bits}, dS = sumTo(dS·),
   * dO = sumTo(dO·).
   */
  LsqFakeQuant: (ctx: GradContext) => {
    let grads: string[] | undefined;
    const part = (k: number) => () =>
      (grads ??= ctx.emit(
        "LsqFakeQuantGrad",
        [ctx.grad(), ...ctx.node.inputs],
        ctx.node.attrs,
        3,
      ))[k];
    return [0, 1, 2].map((k) => gradFor(ctx, k, part(k)));
  },
};
