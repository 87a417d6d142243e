import assert from "node:assert/strict";
import { attr } from "../../src/ir/graph.ts";
import { scalar, tensor } from "../../src/ir/tensor.ts";
import { activationOps } from "../../src/ops/activation.ts";
import {
  assertOpError,
  assertTensor,
  defIn,
  evaluate,
  infer,
  vt,
} from "./_helpers.ts";
import { registerNodeTests } from "./_node_tests.ts";

const gelu = defIn(activationOps, "Gelu");
const dropout = defIn(activationOps, "Dropout");
const xs = [-3, -1, 0, 0.5, 1, 3];
const x = tensor("f32", [6], xs);

Deno.test("Gelu, exact and tanh forms", () => {
  const exact = [
    -0.00404969409489031,
    -0.15865525393145707,
    0,
    0.34573123063700656,
    0.8413447460685429,
    2.99595030590511,
  ];
  assertTensor(
    evaluate(gelu, [x])[0],
    tensor("f32", [6], exact),
    "",
    1e-7,
    1e-9,
  );
  const approx = [
    -0.0036373920817729943,
    -0.15880800939172324,
    0,
    0.34571400982514394,
    0.8411919906082768,
    2.996362607918227,
  ];
  const [y] = evaluate(gelu, [x], { approximate: attr.string("tanh") });
  assertTensor(y, tensor("f32", [6], approx), "", 1e-7, 1e-9);
  assertOpError(
    () => evaluate(gelu, [x], { approximate: attr.string("fast") }),
    /approximate/,
  );
  assertOpError(() => infer(gelu, [vt("i32", [2])]), /float/);
  assert.deepEqual(infer(gelu, [vt("f16", ["b", 3])])[0], vt("f16", ["b", 3]));
});

Deno.test("Dropout is the identity outside training", () => {
  const [y, mask] = evaluate(dropout, [x, scalar("f32", 0.3)], {}, 2);
  assertTensor(y, x);
  assertTensor(mask, tensor("bool", [6], [1, 1, 1, 1, 1, 1]));
  const off = scalar("bool", 0);
  assertTensor(evaluate(dropout, [x, undefined, off])[0], x);
  const on = scalar("bool", 1);
  assertTensor(evaluate(dropout, [x, scalar("f32", 0), on])[0], x);
  assertOpError(
    () => evaluate(dropout, [x, scalar("f32", 0.5), on]),
    /training/,
  );
  assertOpError(() => evaluate(dropout, [x, scalar("f32", 1)]), /ratio/);
  const types = infer(dropout, [vt("f32", ["b", 4])], [], {}, 2);
  assert.deepEqual(types, [vt("f32", ["b", 4]), vt("bool", ["b", 4])]);
});

// The training-mode tests feed training_mode as a graph input, so the
// frontend refuses them (training-mode dropout is random) — also those with
// ratio 0, which the IR op itself would run (see the test above).
const TRAINING = /training_mode is not a constant false/;
registerNodeTests(["Gelu", "Dropout"], {
  refused: {
    test_training_dropout: TRAINING,
    test_training_dropout_default: TRAINING,
    test_training_dropout_default_mask: TRAINING,
    test_training_dropout_mask: TRAINING,
    test_training_dropout_zero_ratio: TRAINING,
    test_training_dropout_zero_ratio_mask: TRAINING,
  },
});
