/**
 * The LSQ+ quantiser op (src/ops/lsq.ts) — forward against scalar
 * references, its straight-through gradients against central differences —
 * and the optimizer's cosine schedule.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import {
  attr,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
} from "../../src/ir/graph.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { cosineWarmupDecay } from "../../src/ops/optimizer_ops.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import { inferShapes } from "../../src/passes/infer_shapes.ts";
import { optimizerPass } from "../../src/passes/optimizer.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import { activationParams, fakeQuantiseValue } from "../../src/ptq/params.ts";
import { rng } from "../ir/random_graph.ts";
import {
  GOLDEN_PASS,
  OPTIMIZER_GOLDEN_DIR,
} from "../passes/optimizer_golden.ts";

/** `loss = Σ w ⊙ LsqFakeQuant(x, s, o)` with x, s, o constants (f64). */
function lsqGraph(
  x: readonly number[],
  s: number,
  o: number,
  w: readonly number[],
  bits: number,
): Graph {
  const n = x.length;
  const nodes: Node[] = [
    makeNode("LsqFakeQuant", "q", ["x", "s", "o"], ["y"], {
      bits: attr.int(bits),
    }),
    makeNode("Mul", "weigh", ["y", "w"], ["m"]),
    makeNode("ReduceSum", "sum", ["m"], ["loss"], { keepdims: attr.int(0) }),
  ];
  return inferShapes.run(
    makeGraph({
      name: "lsq",
      inputs: [],
      outputs: ["loss"],
      constants: [
        ["x", tensor("f64", [n], x)],
        ["s", tensor("f64", [], [s])],
        ["o", tensor("f64", [], [o])],
        ["w", tensor("f64", [n], w)],
      ],
      nodes,
      types: [],
    }),
    DEFAULT_OPTIONS,
  );
}

Deno.test("LsqFakeQuant: forward matches the nearest grid point of the clipped range", () => {
  const next = rng(5);
  for (const bits of [2, 4, 6, 8]) {
    const qmax = 2 ** bits - 1;
    const s = 0.01 + next() * 0.2;
    const o = -qmax * s * next();
    const x = Array.from({ length: 200 }, () => (next() - 0.5) * 3 * qmax * s);
    const y = execute(lsqGraph(x, s, o, x.map(() => 1), bits), {}, ["y"]).get(
      "y",
    )!.data;
    x.forEach((xi, i) => {
      // Clip to [o, o + qmax·s], then the grid point o + k·s nearest to it.
      const clipped = Math.min(o + qmax * s, Math.max(o, xi));
      const k = Math.round((clipped - o) / s);
      assert.ok(
        Math.abs(y[i] - (o + k * s)) <= 1e-12,
        `bits ${bits}: x ${xi} → ${y[i]}, want ${o + k * s}`,
      );
    });
  }
});

Deno.test("LsqFakeQuant with offset −z·Δ is the zero-point quantiser of params.ts", () => {
  const next = rng(9);
  const p = activationParams(-1.7, 4.2, 6);
  const x = Array.from({ length: 500 }, () => (next() - 0.4) * 14);
  const y = execute(
    makeGraph({
      name: "f32",
      inputs: [],
      outputs: ["y"],
      constants: [
        ["x", tensor("f32", [x.length], x)],
        ["s", tensor("f32", [], [p.scale])],
        ["o", tensor("f32", [], [-p.zeroPoint * p.scale])],
      ],
      nodes: [
        makeNode("LsqFakeQuant", "q", ["x", "s", "o"], ["y"], {
          bits: attr.int(6),
        }),
      ],
      types: [],
    }),
    {},
  ).get("y")!.data;
  // Equal but where f32 rounding of x/Δ + z and (x − offset)/Δ straddles a tie.
  const differ = x.filter((xi, i) =>
    Math.abs(y[i] - fakeQuantiseValue(Math.fround(xi), p)) > 1e-5 * p.scale
  );
  assert.deepEqual(differ, []);
});

Deno.test("LsqFakeQuant backward: straight-through gradients match central differences", () => {
  // STE: round's derivative taken as 1, i.e. the exact derivative of the op
  // with each element's rounding residual round(v) − v frozen at the base
  // point. Outside the range that residual is 0 and the surrogate is the op.
  const bits = 3, qmax = 7, s = 0.25, o = -0.8, h = 1e-6;
  const next = rng(3);
  const x: number[] = [];
  while (x.length < 24) {
    const xi = o - 1 + next() * (qmax * s + 2);
    const v = (xi - o) / s;
    const frac = v - Math.floor(v);
    // Away from rounding boundaries and from the clamp edges.
    const edge = Math.min(Math.abs(v), Math.abs(v - qmax));
    if (Math.abs(frac - 0.5) > 0.05 && edge > 0.05) x.push(xi);
  }
  const w = x.map(() => next() * 2 - 1);
  const residual = x.map((xi) => {
    const v = (xi - o) / s;
    return v <= 0 || v >= qmax ? 0 : Math.floor(v + 0.5) - v;
  });
  const surrogate = (xs: number[], sc: number, off: number) =>
    xs.reduce((acc, xi, i) => {
      const v = Math.min(qmax, Math.max(0, (xi - off) / sc));
      return acc + w[i] * (sc * (v + residual[i]) + off);
    }, 0);
  const inside = residual.filter((r) => r !== 0).length;
  assert.ok(inside > 8 && inside < 24, `${inside} of 24 inside the range`);

  const graph = lsqGraph(x, s, o, w, bits);
  const backward = autodiff(graph, { loss: "loss", wrt: ["x", "s", "o"] });
  verify(backward, { requireStatic: true });
  const grads = execute(backward, {});
  const check = (name: string, got: number, plus: number, minus: number) => {
    const fd = (plus - minus) / (2 * h);
    assert.ok(
      Math.abs(got - fd) <= 1e-6 * Math.max(1, Math.abs(fd)),
      `${name}: autodiff ${got}, central difference ${fd}`,
    );
  };
  x.forEach((_, i) => {
    const up = x.slice(), down = x.slice();
    up[i] += h;
    down[i] -= h;
    check(
      `dx[${i}]`,
      grads.get("x@grad")!.data[i],
      surrogate(up, s, o),
      surrogate(down, s, o),
    );
  });
  check(
    "ds",
    grads.get("s@grad")!.data[0],
    surrogate(x, s + h, o),
    surrogate(x, s - h, o),
  );
  check(
    "do",
    grads.get("o@grad")!.data[0],
    surrogate(x, s, o + h),
    surrogate(x, s, o - h),
  );
});

Deno.test("LsqFakeQuant refuses bad bits and non-broadcasting parameters", () => {
  const graph = (bits: number, offsetShape: number[]) =>
    inferShapes.run(
      makeGraph({
        name: "bad",
        inputs: [],
        outputs: ["y"],
        constants: [
          ["x", tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6])],
          ["s", tensor("f32", [], [0.1])],
          ["o", tensor("f32", offsetShape)],
        ],
        nodes: [
          makeNode("LsqFakeQuant", "q", ["x", "s", "o"], ["y"], {
            bits: attr.int(bits),
          }),
        ],
        types: [],
      }),
      DEFAULT_OPTIONS,
    );
  assert.throws(() => graph(1, []), /bits must be from 2 to 16, got 1/);
  assert.throws(() => graph(8, [4]), /must broadcast to x \[2,3\]/);
  assert.doesNotThrow(() => graph(8, [3]));
});

Deno.test("cosine schedule: HF's half cycle after linear warm-up", () => {
  assert.equal(cosineWarmupDecay(0, 0, 10), 1);
  assert.ok(Math.abs(cosineWarmupDecay(5, 0, 10) - 0.5) < 1e-15);
  assert.ok(Math.abs(cosineWarmupDecay(10, 0, 10)) < 1e-15);
  assert.equal(cosineWarmupDecay(15, 0, 10), 0, "0 past the end");
  assert.equal(cosineWarmupDecay(1, 4, 12), 0.25, "warm-up is linear");
  const mid = cosineWarmupDecay(6, 4, 12); // 2 of 8 decay steps
  assert.ok(Math.abs(mid - 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-15);
});

Deno.test("pass optimizer: schedule cosine, before/after IR", () => {
  const base = `${OPTIMIZER_GOLDEN_DIR}linear_regression`;
  const before = parseGraph(Deno.readTextFileSync(`${base}.before.ir`));
  const linear = Deno.readTextFileSync(`${base}.after.ir`);
  const cosine = optimizerPass({
    lr: 1e-3,
    warmupSteps: 10,
    totalSteps: 100,
    weightDecay: 0.01,
    maxGradNorm: 1,
    schedule: "cosine",
  }).run(before, DEFAULT_OPTIONS);
  verify(cosine, { requireStatic: true });
  const text = printGraph(cosine);
  // Everything but the schedule node's operator is the linear golden file.
  assert.equal(
    text,
    linear.replace(
      "= LinearWarmupDecay(step)",
      "= CosineWarmupDecay(step)",
    ),
  );
  assert.notEqual(text, printGraph(GOLDEN_PASS.run(before, DEFAULT_OPTIONS)));
  assert.equal(printGraph(parseGraph(text)), text);
  // Its learning rate at step 55 of 100 (warm-up 10): halfway down.
  const lr = execute(
    makeGraph({
      name: "lr",
      inputs: [],
      outputs: ["lr"],
      constants: [["step", tensor("i64", [], [55])]],
      nodes: cosine.nodes.filter((n) => n.name === "optimizer/lr"),
      types: [],
    }),
    {},
  ).get("lr")!.data[0];
  assert.ok(Math.abs(lr - 5e-4) < 1e-9, `${lr}`);
  assert.throws(
    () =>
      optimizerPass({
        lr: 1e-3,
        totalSteps: 10,
        schedule: "step" as "cosine",
      }).run(before, DEFAULT_OPTIONS),
    /schedule must be linear or cosine, got step/,
  );
});
