import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { attr, type Graph, makeNode, withParts } from "../../src/ir/graph.ts";
import { scalar, type Tensor, tensor, toNumbers } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { getOp } from "../../src/ops/mod.ts";
import {
  appendOptimizer,
  initialOptimizerState,
  OptimizerError,
  trainableParams,
} from "../../src/passes/optimizer.ts";
import {
  batchAt,
  BIAS,
  blobs,
  softmaxRegression,
  WEIGHT,
} from "../training/_softmax_regression.ts";

const OPTIONS = { lr: 0.01, totalSteps: 50, warmupSteps: 5, weightDecay: 0.1 };

function adamNode(graph: Graph, param: string) {
  const node = graph.nodes.find((n) => n.name === `optimizer/AdamW/${param}`);
  assert.ok(node, `no AdamW node for ${param}`);
  return node;
}

Deno.test("optimizer: parameters become inputs with their moments; gradients leave the outputs", () => {
  const graph = softmaxRegression();
  const step = appendOptimizer(graph, OPTIONS);
  verify(step, { requireStatic: true });
  assert.deepEqual(step.inputs, [
    "X",
    "Y",
    "step",
    WEIGHT,
    `${WEIGHT}@m`,
    `${WEIGHT}@v`,
    BIAS,
    `${BIAS}@m`,
    `${BIAS}@v`,
  ]);
  assert.deepEqual(step.outputs, [
    "loss",
    "grad_norm",
    "lr",
    `${WEIGHT}@next`,
    `${WEIGHT}@m@next`,
    `${WEIGHT}@v@next`,
    `${BIAS}@next`,
    `${BIAS}@m@next`,
    `${BIAS}@v@next`,
  ]);
  assert.ok(!step.constants.has(WEIGHT) && !step.constants.has(BIAS));
  assert.deepEqual(step.types.get("step"), { dtype: "i64", shape: [] });
  assert.deepEqual(step.types.get(`${WEIGHT}@v@next`), {
    dtype: "f32",
    shape: [4, 3],
  });
  // One clip node over both gradients; one AdamW per parameter.
  assert.equal(step.nodes.filter((n) => n.op === "GlobalNormClip").length, 1);
  assert.equal(step.nodes.filter((n) => n.op === "AdamW").length, 2);
  // The input graph is untouched.
  assert.ok(graph.constants.has(WEIGHT));
});

Deno.test("optimizer: weights decay, biases and LayerNorm parameters do not", () => {
  const graph = softmaxRegression();
  const decayOf = (g: Graph, p: string) => adamNode(g, p).attrs.weight_decay;
  const step = appendOptimizer(graph, OPTIONS);
  assert.deepEqual(decayOf(step, WEIGHT), attr.float(0.1));
  assert.deepEqual(decayOf(step, BIAS), attr.float(0));
  const custom = appendOptimizer(graph, { ...OPTIONS, noDecay: () => true });
  assert.deepEqual(decayOf(custom, WEIGHT), attr.float(0));
  // HF's names for LayerNorm scale/shift, and other exporters' spellings.
  const renamed = (name: string) => {
    const constants = new Map(
      [...graph.constants].map(([k, v]) => [k === WEIGHT ? name : k, v]),
    );
    const rename = (s: string) => s.replace(WEIGHT, name);
    const nodes = graph.nodes.map((n) =>
      makeNode(
        n.op,
        n.name,
        n.inputs.map(rename),
        n.outputs.map(rename),
        n.attrs,
      )
    );
    const types = [...graph.types].map((
      [k, v],
    ): [string, typeof v] => [rename(k), v]);
    return withParts(graph, {
      constants,
      nodes,
      types,
      outputs: graph.outputs.map(rename),
    });
  };
  for (
    const name of [
      "bert.encoder.layer.0.output.LayerNorm.weight",
      "emb.layer_norm.gamma",
      "ln.LayerNorm.beta",
    ]
  ) {
    assert.deepEqual(
      decayOf(appendOptimizer(renamed(name), OPTIONS), name),
      attr.float(0),
      name,
    );
  }
  const dense = "bert.encoder.layer.0.output.dense.weight";
  assert.deepEqual(
    decayOf(appendOptimizer(renamed(dense), OPTIONS), dense),
    attr.float(0.1),
  );
});

Deno.test("optimizer: one step equals clip then AdamW on the backward graph's gradients", () => {
  const graph = softmaxRegression();
  const batch = batchAt(blobs(1), 0, 0);
  const state = initialOptimizerState(graph);
  const feeds = new Map<string, Tensor>([...Object.entries(batch), ...state]);
  feeds.set("step", scalar("i64", 7));
  const out = execute(
    appendOptimizer(graph, { ...OPTIONS, maxGradNorm: 0.5 }),
    feeds,
  );

  const grads = execute(graph, batch);
  const g = [grads.get(`${WEIGHT}@grad`)!, grads.get(`${BIAS}@grad`)!];
  const norm = Math.hypot(...g.flatMap(toNumbers));
  assert.ok(norm > 0.5, "the test must exercise clipping");
  assert.equal(out.get("grad_norm")!.data[0], Math.fround(norm));
  assert.equal(out.get("lr")!.data[0], Math.fround(0.01 * (50 - 7) / 45));
  assert.deepEqual(out.get("loss"), grads.get("loss"));
  const clip = makeNode("GlobalNormClip", "c", ["a", "b"], ["x", "y", "n"], {
    max_norm: attr.float(0.5),
  });
  const clipped = getOp("GlobalNormClip").evaluate(g, clip);
  const adam = makeNode("AdamW", "u", ["w", "g", "m", "v", "lr", "s"], [
    "a",
    "b",
    "c",
  ], { weight_decay: attr.float(0.1) });
  const [w1, m1, v1] = getOp("AdamW").evaluate(
    [
      state.get(WEIGHT)!,
      clipped[0],
      state.get(`${WEIGHT}@m`)!,
      state.get(`${WEIGHT}@v`)!,
      out.get("lr")!,
      scalar("i64", 7),
    ],
    adam,
  );
  assert.deepEqual(out.get(`${WEIGHT}@next`), w1);
  assert.deepEqual(out.get(`${WEIGHT}@m@next`), m1);
  assert.deepEqual(out.get(`${WEIGHT}@v@next`), v1);
});

Deno.test("optimizer: initial state is the constants' weights and zero moments", () => {
  const graph = softmaxRegression();
  const state = initialOptimizerState(graph);
  assert.deepEqual([...state.keys()], [
    WEIGHT,
    `${WEIGHT}@m`,
    `${WEIGHT}@v`,
    BIAS,
    `${BIAS}@m`,
    `${BIAS}@v`,
  ]);
  const w = graph.constants.get(WEIGHT)!;
  assert.deepEqual(state.get(WEIGHT), w);
  assert.notEqual(
    state.get(WEIGHT)!.data,
    w.data,
    "a copy, not the constant's buffer",
  );
  assert.deepEqual(state.get(`${BIAS}@v`), tensor("f32", [3]));
  assert.deepEqual(trainableParams(graph, [BIAS]), [BIAS]);
});

Deno.test("optimizer: refuses graphs and settings it cannot handle, saying why", () => {
  const graph = softmaxRegression();
  const refuses = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(
      fn,
      (e) => e instanceof OptimizerError && pattern.test(e.message),
    );
  const noGrads = withParts(graph, {
    outputs: ["loss"],
    nodes: graph.nodes.filter((n) => !n.outputs[0].endsWith("@grad")),
  });
  refuses(
    () => appendOptimizer(noGrads, OPTIONS),
    /no parameter has a gradient/,
  );
  refuses(
    () => appendOptimizer(graph, { ...OPTIONS, params: ["inv_batch"] }),
    /has no gradient 'inv_batch@grad'; run autodiff first/,
  );
  refuses(
    () => appendOptimizer(graph, { ...OPTIONS, params: ["X"] }),
    /'X' is not a constant/,
  );
  refuses(
    () => appendOptimizer(graph, { ...OPTIONS, params: ["rows"] }),
    /'rows' is i64; master weights must be f32/,
  );
  refuses(
    () => appendOptimizer(graph, { ...OPTIONS, warmupSteps: 60 }),
    /warmupSteps must be an integer in \[0, totalSteps\]/,
  );
  refuses(
    () => appendOptimizer(graph, { ...OPTIONS, totalSteps: 0 }),
    /totalSteps must be a positive integer/,
  );
  refuses(
    () => appendOptimizer(graph, { ...OPTIONS, maxGradNorm: 0 }),
    /maxGradNorm must be > 0/,
  );
  const clash = withParts(graph, { inputs: [...graph.inputs, "lr"] });
  refuses(() => appendOptimizer(clash, OPTIONS), /value 'lr' already exists/);
  const floatStep = withParts(graph, {
    inputs: [...graph.inputs, "step"],
    types: new Map(graph.types).set("step", { dtype: "f32", shape: [] }),
  });
  refuses(
    () => appendOptimizer(floatStep, OPTIONS),
    /input 'step' must be an i64 scalar/,
  );
  const badGrad = withParts(graph, {
    types: new Map(graph.types).set(`${BIAS}@grad`, {
      dtype: "f32",
      shape: [4],
    }),
  });
  refuses(
    () => appendOptimizer(badGrad, OPTIONS),
    /gradient 'classifier.bias@grad' is f32\[4\] but 'classifier.bias' is f32\[3\]/,
  );
});
