/**
 * Gradient rules of the training-only operators: the losses and
 * training-mode dropout. Labels, positions and seeds are integers and carry
 * no gradient.
 *
 * @module
 */

import {
  type GradContext,
  gradFor,
  reshapeTo,
  type RuleTable,
} from "./rule.ts";

/** A loss rule whose only gradient is the one `op` computes for input 0. */
function lossRule(op: string) {
  return (ctx: GradContext) => [
    gradFor(ctx, 0, () => ctx.op(op, [ctx.grad(), ...ctx.node.inputs])),
    ...ctx.node.inputs.slice(1).map(() => undefined),
  ];
}

/** Loss and dropout gradient rules by operator. */
export const trainingRules: RuleTable = {
  /**
   * L = SoftmaxCrossEntropy(Z, labels) = mean_b −log softmax(Z_b)[label_b];
   * dZ = SoftmaxCrossEntropyGrad(dL, Z, labels) = dL·(softmax(Z) − onehot)/B.
   */
  SoftmaxCrossEntropy: lossRule("SoftmaxCrossEntropyGrad"),

  /**
   * L = SpanCrossEntropy(Z[B,S,2], starts, ends) = (CE(Z[:,:,0], starts) +
   * CE(Z[:,:,1], ends))/2; dZ = SpanCrossEntropyGrad(dL, Z, starts, ends) =
   * dL·(softmax − onehot)/(2B) per channel.
   */
  SpanCrossEntropy: lossRule("SpanCrossEntropyGrad"),

  /**
   * L = MeanSquaredError(P, T) = mean((P − T)²);
   * dP = MeanSquaredErrorGrad(dL, P, T) = dL·2(P − T)/B, dT = −dP as T.
   */
  MeanSquaredError: (ctx) => {
    const [pred, target] = ctx.node.inputs;
    let cached: string | undefined;
    const dp = () =>
      cached ??= ctx.op("MeanSquaredErrorGrad", [ctx.grad(), pred, target]);
    return [
      gradFor(ctx, 0, dp),
      gradFor(
        ctx,
        1,
        () => reshapeTo(ctx, ctx.op("Neg", [dp()]), ctx.shape(target)),
      ),
    ];
  },

  /**
   * Y, mask = DropoutTrain(X, seed) {ratio, stream};
   * dX = DropoutGrad(dY, mask) {ratio} = dY·mask/(1 − ratio). The stored
   * mask carries the stream's draw, so the backward takes only the ratio.
   */
  DropoutTrain: (ctx) => {
    const { ratio } = ctx.node.attrs;
    return [
      gradFor(
        ctx,
        0,
        () =>
          ctx.op(
            "DropoutGrad",
            [ctx.grad(), ctx.node.outputs[1]],
            ratio === undefined ? {} : { ratio },
          ),
      ),
      undefined,
    ];
  },
};
