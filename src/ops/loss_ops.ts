/**
 * Training losses as IR operators, each with the operator computing its
 * gradient: SoftmaxCrossEntropy (classification), MeanSquaredError
 * (regression) and SpanCrossEntropy (SQuAD start/end positions). Every loss
 * is a scalar mean over the batch, so gradients are divided by the batch.
 *
 * @module
 */

import { isFloat } from "../ir/dtype.ts";
import type { Dim, Node, ValueType } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { inputTensor, inputType } from "./dims.ts";
import { type InferContext, type OpDef, OpError } from "./op_def.ts";

/** Throws unless `t` holds floats. */
function checkFloat(node: Node, what: string, t: ValueType): void {
  if (!isFloat(t.dtype)) {
    throw new OpError(node, `${what} must be float, got ${t.dtype}.`);
  }
}

/** Throws unless `t` is a 1-D integer tensor of `batch` labels. */
function checkLabels(node: Node, what: string, t: ValueType, batch: Dim) {
  const ok = (t.dtype === "i64" || t.dtype === "i32") &&
    t.shape.length === 1 &&
    (t.shape[0] === batch || typeof batch === "string" ||
      typeof t.shape[0] === "string");
  if (!ok) {
    throw new OpError(
      node,
      `${what} must be i64[${batch}] (or i32), got ${t.dtype}[${t.shape}].`,
    );
  }
}

/**
 * Cross-entropy of the `count` logits at `logits[base + k·stride]` against
 * class `label`, and (when `grad` is given) softmax − one-hot added into
 * `grad` at the same positions, times `weight`.
 */
function crossEntropy(
  node: Node,
  logits: Tensor,
  base: number,
  stride: number,
  count: number,
  label: number,
  grad?: { out: Float64Array; weight: number },
): number {
  if (!Number.isInteger(label) || label < 0 || label >= count) {
    throw new OpError(node, `label ${label} is not in [0, ${count}).`);
  }
  const at = (k: number) => base + k * stride;
  let max = -Infinity;
  for (let k = 0; k < count; k++) max = Math.max(max, logits.data[at(k)]);
  let sum = 0;
  for (let k = 0; k < count; k++) sum += Math.exp(logits.data[at(k)] - max);
  if (grad !== undefined) {
    for (let k = 0; k < count; k++) {
      const p = Math.exp(logits.data[at(k)] - max) / sum;
      grad.out[at(k)] += grad.weight * (p - (k === label ? 1 : 0));
    }
  }
  return Math.log(sum) + max - logits.data[at(label)];
}

/** The scalar type of a loss over `logits`. */
function scalarOf(t: ValueType): ValueType {
  return { dtype: t.dtype, shape: [] };
}

/** Throws unless input 0 of a gradient op is a float scalar. */
function checkSeed(ctx: InferContext): void {
  const seed = inputType(ctx, 0);
  checkFloat(ctx.node, "dloss", seed);
  if (seed.shape.length !== 0) {
    throw new OpError(ctx.node, `dloss must be a scalar, got [${seed.shape}].`);
  }
}

/** Checks SoftmaxCrossEntropy's operands: logits [B, C], labels [B]. */
function inferCE(ctx: InferContext, first: number): ValueType {
  const logits = inputType(ctx, first);
  checkFloat(ctx.node, "logits", logits);
  if (logits.shape.length !== 2) {
    throw new OpError(
      ctx.node,
      `logits must be [B, C], got [${logits.shape}].`,
    );
  }
  checkLabels(ctx.node, "labels", inputType(ctx, first + 1), logits.shape[0]);
  return logits;
}

/** Mean cross-entropy of logits [B, C] against labels, gradient optional. */
function meanCE(
  node: Node,
  logits: Tensor,
  labels: Tensor,
  grad?: { out: Float64Array; weight: number },
): number {
  const [batch, classes] = logits.shape;
  let total = 0;
  for (let b = 0; b < batch; b++) {
    total += crossEntropy(
      node,
      logits,
      b * classes,
      1,
      classes,
      labels.data[b],
      grad,
    );
  }
  return total / batch;
}

/** SoftmaxCrossEntropy(logits [B, C], labels [B]) → mean_b −log softmax(logits_b)[label_b]. */
const softmaxCrossEntropy: OpDef = {
  name: "SoftmaxCrossEntropy",
  summary: "Mean over the batch of −log softmax(logits)[label].",
  inputs: [2, 2],
  outputs: [1, 1],
  infer: (ctx) => [scalarOf(inferCE(ctx, 0))],
  evaluate(inputs, node) {
    const logits = inputTensor(node, inputs, 0);
    const loss = meanCE(node, logits, inputTensor(node, inputs, 1));
    return [tensor(logits.dtype, [], [loss])];
  },
};

/** SoftmaxCrossEntropyGrad(dloss, logits, labels) → dloss·(softmax − onehot)/B. */
const softmaxCrossEntropyGrad: OpDef = {
  name: "SoftmaxCrossEntropyGrad",
  summary: "Backward of SoftmaxCrossEntropy: dloss·(softmax − onehot)/B.",
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    checkSeed(ctx);
    return [inferCE(ctx, 1)];
  },
  evaluate(inputs, node) {
    const [dloss, logits, labels] = [0, 1, 2].map((i) =>
      inputTensor(node, inputs, i)
    );
    const out = new Float64Array(logits.data.length);
    meanCE(node, logits, labels, {
      out,
      weight: dloss.data[0] / logits.shape[0],
    });
    return [tensor(logits.dtype, logits.shape, out)];
  },
};

/** Checks MeanSquaredError's operands: pred [B] or [B, 1], target likewise. */
function inferMSE(ctx: InferContext, first: number): ValueType {
  const pred = inputType(ctx, first);
  const target = inputType(ctx, first + 1);
  checkFloat(ctx.node, "pred", pred);
  if (target.dtype !== pred.dtype) {
    throw new OpError(
      ctx.node,
      `target is ${target.dtype}, pred ${pred.dtype}.`,
    );
  }
  const column = (s: readonly Dim[]) =>
    s.length === 1 || (s.length === 2 && s[1] === 1);
  if (!column(pred.shape) || !column(target.shape)) {
    throw new OpError(
      ctx.node,
      `pred and target must be [B] or [B, 1], got [${pred.shape}] and [${target.shape}].`,
    );
  }
  return pred;
}

/** MeanSquaredError(pred, target) → mean((pred − target)²). */
const meanSquaredError: OpDef = {
  name: "MeanSquaredError",
  summary: "Mean over the batch of (pred − target)²; pred/target [B] or [B,1].",
  inputs: [2, 2],
  outputs: [1, 1],
  infer: (ctx) => [scalarOf(inferMSE(ctx, 0))],
  evaluate(inputs, node) {
    const pred = inputTensor(node, inputs, 0);
    const target = inputTensor(node, inputs, 1);
    if (pred.data.length !== target.data.length) {
      throw new OpError(node, "pred and target differ in batch.");
    }
    let total = 0;
    pred.data.forEach((p, k) => total += (p - target.data[k]) ** 2);
    return [tensor(pred.dtype, [], [total / pred.data.length])];
  },
};

/** MeanSquaredErrorGrad(dloss, pred, target) → dpred = dloss·2(pred − target)/B. */
const meanSquaredErrorGrad: OpDef = {
  name: "MeanSquaredErrorGrad",
  summary: "Backward of MeanSquaredError for pred: dloss·2(pred − target)/B.",
  inputs: [3, 3],
  outputs: [1, 1],
  infer(ctx) {
    checkSeed(ctx);
    return [inferMSE(ctx, 1)];
  },
  evaluate(inputs, node) {
    const [dloss, pred, target] = [0, 1, 2].map((i) =>
      inputTensor(node, inputs, i)
    );
    if (pred.data.length !== target.data.length) {
      throw new OpError(node, "pred and target differ in batch.");
    }
    const scale = 2 * dloss.data[0] / pred.data.length;
    const out = Array.from(pred.data, (p, k) => scale * (p - target.data[k]));
    return [tensor(pred.dtype, pred.shape, out)];
  },
};

/** Checks SpanCrossEntropy's operands: logits [B, S, 2], starts and ends [B]. */
function inferSpan(ctx: InferContext, first: number): ValueType {
  const logits = inputType(ctx, first);
  checkFloat(ctx.node, "logits", logits);
  if (logits.shape.length !== 3 || logits.shape[2] !== 2) {
    throw new OpError(
      ctx.node,
      `logits must be [B, S, 2], got [${logits.shape}].`,
    );
  }
  checkLabels(ctx.node, "starts", inputType(ctx, first + 1), logits.shape[0]);
  checkLabels(ctx.node, "ends", inputType(ctx, first + 2), logits.shape[0]);
  return logits;
}

/**
 * The span loss of logits [B, S, 2] (channel 0 scores starts, 1 ends over
 * the S positions): (CE(start) + CE(end))/2, each a mean over the batch.
 */
function spanLoss(
  node: Node,
  [logits, starts, ends]: readonly Tensor[],
  grad?: { out: Float64Array; weight: number },
): number {
  const [batch, seq] = logits.shape;
  let total = 0;
  for (let b = 0; b < batch; b++) {
    const base = b * seq * 2;
    total += crossEntropy(node, logits, base, 2, seq, starts.data[b], grad);
    total += crossEntropy(node, logits, base + 1, 2, seq, ends.data[b], grad);
  }
  return total / (2 * batch);
}

/** SpanCrossEntropy(logits [B, S, 2], starts [B], ends [B]) → (CE_start + CE_end)/2. */
const spanCrossEntropy: OpDef = {
  name: "SpanCrossEntropy",
  summary:
    "SQuAD span loss: mean of start and end cross-entropy over positions.",
  inputs: [3, 3],
  outputs: [1, 1],
  infer: (ctx) => [scalarOf(inferSpan(ctx, 0))],
  evaluate(inputs, node) {
    const operands = [0, 1, 2].map((i) => inputTensor(node, inputs, i));
    return [tensor(operands[0].dtype, [], [spanLoss(node, operands)])];
  },
};

/** SpanCrossEntropyGrad(dloss, logits, starts, ends) → dlogits [B, S, 2]. */
const spanCrossEntropyGrad: OpDef = {
  name: "SpanCrossEntropyGrad",
  summary:
    "Backward of SpanCrossEntropy: dloss·(softmax − onehot)/(2B) per channel.",
  inputs: [4, 4],
  outputs: [1, 1],
  infer(ctx) {
    checkSeed(ctx);
    return [inferSpan(ctx, 1)];
  },
  evaluate(inputs, node) {
    const [dloss, ...operands] = [0, 1, 2, 3].map((i) =>
      inputTensor(node, inputs, i)
    );
    const logits = operands[0];
    const out = new Float64Array(logits.data.length);
    spanLoss(node, operands, {
      out,
      weight: dloss.data[0] / (2 * logits.shape[0]),
    });
    return [tensor(logits.dtype, logits.shape, out)];
  },
};

/** The loss operators and their gradients. */
export const lossOps: readonly OpDef[] = [
  softmaxCrossEntropy,
  softmaxCrossEntropyGrad,
  meanSquaredError,
  meanSquaredErrorGrad,
  spanCrossEntropy,
  spanCrossEntropyGrad,
];
