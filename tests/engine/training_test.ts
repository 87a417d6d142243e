/**
 * A whole training step of bert-tiny-random (forward, loss, autodiff,
 * global-norm clipping, AdamW) in the engine against the reference
 * executor, and resident optimizer state carried across steps.
 *
 * Tolerances: loss, grad norm, learning rate, every gradient and both AdamW
 * moments within 1e-4 relative (∞-norm per tensor). Updated parameters are
 * compared by their update: AdamW divides m̂ by √v̂ + 1e-8, so an element
 * whose gradient is near 1e-8 moves by an amount set by that gradient's last
 * digits, which f32 and f64 sums legitimately disagree on; the update must
 * agree within 1e-2 of the learning rate.
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { inPlaceState } from "../../runtime/engine/layout.ts";
import { execute } from "../../src/executor/execute.ts";
import { withParts } from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { nextName } from "../../src/passes/optimizer.ts";
import { SHARED } from "../models/model_inputs.ts";
import { assertOneArena, relativeError } from "./helpers.ts";
import { classifierStep } from "./training_graph.ts";

const BATCH = 2;
const SEQ = 8;
const STEP = classifierStep(
  `${SHARED}models/bert-tiny-random/model.onnx`,
  BATCH,
  SEQ,
);
const PARAMS = new Set(STEP.params);

const BATCH_FEEDS = new Map<string, Tensor>([
  [
    "input_ids",
    tensor("i64", [BATCH, SEQ], [
      ...[101, 7592, 2088, 2003, 1037, 3231, 102, 0],
      ...[101, 2129, 2024, 2017, 1029, 102, 2307, 102],
    ]),
  ],
  [
    "attention_mask",
    tensor("i64", [BATCH, SEQ], [
      ...[1, 1, 1, 1, 1, 1, 1, 0],
      ...[1, 1, 1, 1, 1, 1, 1, 1],
    ]),
  ],
  [
    "token_type_ids",
    tensor("i64", [BATCH, SEQ], [
      ...[0, 0, 0, 0, 0, 0, 0, 0],
      ...[0, 0, 0, 0, 0, 0, 1, 1],
    ]),
  ],
  ["labels", tensor("i64", [BATCH], [1, 0])],
]);

/** Every input of one step: the batch, the state, and the step counter. */
function feedsAt(
  state: ReadonlyMap<string, Tensor>,
  step: number,
): Map<string, Tensor> {
  return new Map([
    ...BATCH_FEEDS,
    ...state,
    ["step", tensor("i64", [], [step])],
  ]);
}

/** max |(a − before) − (b − before)| / lr: the update's error in learning rates. */
function updateError(a: Tensor, b: Tensor, lr: number): number {
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
  }
  return worst / lr;
}

/** Checks each of `want` in `got` by the tolerances of the module doc. */
function assertClose(
  got: ReadonlyMap<string, Tensor>,
  want: ReadonlyMap<string, Tensor>,
  lr: number,
): void {
  for (const [name, t] of want) {
    const param = name.endsWith("@next") && PARAMS.has(name.slice(0, -5));
    const error = param
      ? updateError(got.get(name)!, t, lr)
      : relativeError(got.get(name)!, t);
    const limit = param ? 1e-2 : 1e-4;
    assert.ok(error < limit, `${name}: error ${error.toExponential(2)}`);
  }
}

Deno.test("engine training step ≈ reference: bert-tiny-random", async () => {
  // Gradients as outputs too, so they are compared before clipping and AdamW.
  const graph = withParts(STEP.graph, {
    outputs: [...STEP.graph.outputs, ...STEP.params.map((p) => `${p}@grad`)],
  });
  const engine = await Engine.create(graph);
  const feeds = feedsAt(STEP.state, 1);
  const want = execute(graph, feeds);
  const got = engine.run(feeds);
  assert.ok(want.get("loss")!.data[0] > 0);
  assert.ok(want.get("grad_norm")!.data[0] > 0);
  assertClose(got, want, want.get("lr")!.data[0]);
  assert.deepEqual(engine.fallbacks(), []);
  assertOneArena(engine);
});

Deno.test("engine keeps resident optimizer state across steps", async () => {
  const engine = await Engine.create(STEP.graph, { resident: STEP.state });
  // AdamW updates weights and moments in place: no copies in or out.
  const { slots } = engine.layout;
  const moved = [...STEP.state.keys()].filter((n) =>
    slots.get(nextName(n))!.address !== slots.get(n)!.address
  );
  assert.deepEqual(moved, []);
  let state = new Map(STEP.state);
  for (let k = 0; k < 3; k++) {
    const want = execute(STEP.graph, feedsAt(state, k));
    const got = engine.run(
      new Map([...BATCH_FEEDS, ["step", tensor("i64", [], [k])]]),
    );
    const loss = (m: ReadonlyMap<string, Tensor>) =>
      new Map([["loss", m.get("loss")!]]);
    assertClose(loss(got), loss(want), 1);
    state = new Map([...state.keys()].map((n) => [n, want.get(nextName(n))!]));
  }
  const current = new Map([...state.keys()].map((n) => [n, engine.value(n)]));
  const expected = new Map(state);
  // Three updates of lr ≤ 1e-3: parameter errors are measured against 1e-3.
  for (const [name, t] of expected) {
    const error = PARAMS.has(name)
      ? updateError(current.get(name)!, t, 1e-3)
      : relativeError(current.get(name)!, t);
    assert.ok(error < 1e-2, `${name}: error ${error.toExponential(2)}`);
  }
});

Deno.test("state shares its next slot only when the optimizer reads it last", () => {
  const resident = [...STEP.state.keys()];
  const shared = inPlaceState(STEP.graph, resident);
  const weight = STEP.params[0];
  assert.equal(shared.get(nextName(weight)), weight);
  // A graph output, or a node reading the weight after AdamW, keeps it apart.
  const exposed = withParts(STEP.graph, {
    outputs: [...STEP.graph.outputs, weight],
  });
  assert.equal(inPlaceState(exposed, resident).has(nextName(weight)), false);
  const lateReader = withParts(STEP.graph, {
    nodes: [...STEP.graph.nodes, {
      name: "late_reader",
      op: "Identity",
      inputs: [weight],
      outputs: ["late_copy"],
      attrs: {},
    }],
  });
  assert.equal(inPlaceState(lateReader, resident).has(nextName(weight)), false);
  assert.equal(inPlaceState(STEP.graph, []).size, 0);
});
