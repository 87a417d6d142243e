import assert from "node:assert/strict";
import { verify } from "../../src/ir/verify.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { execute } from "../../src/executor/execute.ts";
import { appendOptimizer } from "../../src/passes/optimizer.ts";
import {
  initialTrainingState,
  TrainingStateError,
} from "../../src/training/state.ts";
import { train, trainStep } from "../../src/training/reference_trainer.ts";
import {
  accuracy,
  BATCH,
  batchAt,
  BIAS,
  blobs,
  EXAMPLES,
  softmaxRegression,
  WEIGHT,
} from "./_softmax_regression.ts";

const STEPS = 60;

Deno.test("softmax regression fixture: the hand-written gradient matches finite differences", () => {
  const graph = softmaxRegression();
  const batch = batchAt(blobs(1), 0, 3);
  const analytic = execute(graph, batch).get(`${WEIGHT}@grad`)!;
  const w = graph.constants.get(WEIGHT)!;
  const lossWith = (data: Float32Array) => {
    const constants = new Map(graph.constants);
    constants.set(WEIGHT, { ...w, data });
    return execute({ ...graph, constants }, batch).get("loss")!.data[0];
  };
  const h = 1e-2;
  for (let i = 0; i < w.data.length; i++) {
    const plus = Float32Array.from(w.data);
    const minus = Float32Array.from(w.data);
    plus[i] += h;
    minus[i] -= h;
    const numeric = (lossWith(plus) - lossWith(minus)) / (2 * h);
    assert.ok(
      Math.abs(numeric - analytic.data[i]) < 1e-3,
      `dW[${i}]: finite difference ${numeric}, graph ${analytic.data[i]}`,
    );
  }
});

Deno.test("reference trainer: softmax regression learns separable blobs to 100%", () => {
  const graph = softmaxRegression();
  const data = blobs(1);
  const stepGraph = appendOptimizer(graph, {
    lr: 0.05,
    warmupSteps: 6,
    totalSteps: STEPS,
    weightDecay: 0.01,
  });
  verify(stepGraph, { requireStatic: true });
  const start = initialTrainingState(graph, 3);
  assert.ok(
    accuracy(data, start.tensors.get(WEIGHT)!, start.tensors.get(BIAS)!) < 0.7,
  );
  const losses: number[] = [];
  const lrs: number[] = [];
  const end = train(
    stepGraph,
    start,
    STEPS,
    (step, seed) => batchAt(data, step, seed),
    ({ outputs }) => {
      losses.push(outputs.get("loss")!.data[0]);
      lrs.push(outputs.get("lr")!.data[0]);
    },
  );
  assert.equal(end.step, STEPS);
  const epoch = EXAMPLES / BATCH;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(1, 1 + epoch));
  const last = mean(losses.slice(-epoch));
  assert.ok(last < first / 5, `loss fell only from ${first} to ${last}`);
  assert.equal(lrs[0], 0, "first update is at lr 0 (HF warm-up)");
  assert.equal(lrs[6], Math.fround(0.05), "peak at the end of warm-up");
  assert.equal(
    accuracy(data, end.tensors.get(WEIGHT)!, end.tensors.get(BIAS)!),
    1,
  );
  // The moments moved, and the input state is untouched (states are values).
  assert.ok(end.tensors.get(`${WEIGHT}@v`)!.data.some((x) => x > 0));
  assert.ok(start.tensors.get(`${WEIGHT}@v`)!.data.every((x) => x === 0));
});

Deno.test("reference trainer: refuses a state that does not fit the graph", () => {
  const graph = softmaxRegression();
  const stepGraph = appendOptimizer(graph, { lr: 0.1, totalSteps: 10 });
  const state = initialTrainingState(graph, 0);
  const batch = batchAt(blobs(1), 0, 0);
  const without = new Map(state.tensors);
  without.delete(`${BIAS}@m`);
  assert.throws(
    () => trainStep(stepGraph, { ...state, tensors: without }, batch),
    (e) =>
      e instanceof TrainingStateError &&
      /missing \[classifier.bias@m\]/.test(e.message),
  );
  const wrong = new Map<string, Tensor>(state.tensors);
  wrong.set(BIAS, tensor("f32", [4]));
  assert.throws(
    () => trainStep(stepGraph, { ...state, tensors: wrong }, batch),
    /'classifier.bias' is f32\[4\] but graph 'softmax_regression' expects f32\[3\]/,
  );
  assert.throws(
    () =>
      trainStep(stepGraph, state, { ...batch, step: tensor("i64", [], [5]) }),
    /feeds 'step', which the training state owns/,
  );
  assert.throws(() => initialTrainingState(graph, -1), /unsigned 32-bit/);
});
