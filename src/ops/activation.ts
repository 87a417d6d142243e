/**
 * Activation-like operators: Gelu (the IR's fused form, also ONNX Gelu-20)
 * and Dropout (inference form).
 *
 * @module
 */

import { isFloat } from "../ir/dtype.ts";
import { type Node, stringAttr } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { inputTensor, inputType } from "./dims.ts";
import { erf } from "./erf.ts";
import { type OpDef, OpError } from "./op_def.ts";

/** √(2/π), the tanh approximation's scale. */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Gelu of one value, exact or by the tanh approximation. */
function gelu(x: number, tanh: boolean): number {
  if (tanh) {
    return 0.5 * x *
      (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
  }
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** Whether Gelu uses the tanh approximation; rejects unknown modes. */
function usesTanh(node: Node): boolean {
  const mode = stringAttr(node.attrs, "approximate", "none");
  if (mode !== "none" && mode !== "tanh") {
    throw new OpError(
      node,
      `approximate must be "none" or "tanh", got "${mode}".`,
    );
  }
  return mode === "tanh";
}

/** Gelu: x·Φ(x), exactly or by the tanh formula. */
const geluOp: OpDef = {
  name: "Gelu",
  summary:
    'x·Φ(x): 0.5·x·(1+erf(x/√2)), or its tanh form when approximate="tanh".',
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const x = inputType(ctx, 0);
    usesTanh(ctx.node);
    if (!isFloat(x.dtype)) {
      throw new OpError(ctx.node, `needs a float input, got ${x.dtype}.`);
    }
    return [x];
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const tanh = usesTanh(node);
    return [tensor(x.dtype, x.shape, Array.from(x.data, (v) => gelu(v, tanh)))];
  },
};

/**
 * Dropout: the identity with an all-true mask outside training. Training
 * with a non-zero ratio is random, which a reference executor cannot
 * reproduce, so it is an error.
 */
const dropout: OpDef = {
  name: "Dropout",
  summary: "Identity (mask all true) unless training_mode is true.",
  inputs: [1, 3],
  outputs: [1, 2],
  infer(ctx) {
    const x = inputType(ctx, 0);
    return [x, { dtype: "bool" as const, shape: x.shape }].slice(
      0,
      ctx.node.outputs.length,
    );
  },
  evaluate(inputs, node) {
    const x = inputTensor(node, inputs, 0);
    const ratio = inputs[1] === undefined ? 0.5 : inputs[1].data[0];
    const training = inputs[2] !== undefined && inputs[2].data[0] !== 0;
    if (!(ratio >= 0 && ratio < 1)) {
      throw new OpError(node, `ratio ${ratio} is not in [0, 1).`);
    }
    if (training && ratio !== 0) {
      throw new OpError(
        node,
        "training-mode dropout is random; only inference is supported.",
      );
    }
    const mask = tensor(
      "bool",
      x.shape,
      new Array<number>(x.data.length).fill(1),
    );
    return [x, mask].slice(0, node.outputs.length);
  },
};

/** The activation operators. */
export const activationOps: readonly OpDef[] = [geluOp, dropout];
