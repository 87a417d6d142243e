/**
 * LLM.int8(): the `LlmInt8MatMul` operator against a hand-written scalar
 * reference, its error against f32 and against per-tensor int8 with
 * planted outliers, its reduction to plain int8 absmax and to f32, its type
 * rule, and the `llm-int8` pass on small graphs. Whole model:
 * `llm_int8_models_test.ts`.
 */

import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { attr, makeNode } from "../../src/ir/graph.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { roundHalfEven } from "../../src/ops/llm_int8.ts";
import { getOp } from "../../src/ops/mod.ts";
import { llmInt8 } from "../../src/passes/llm_int8.ts";
import { rng } from "../ir/random_graph.ts";
import { GOLDEN_DIR } from "./golden.ts";

const M = 10;
const K = 16;
const N = 8;

/** Uniform values in ±`range`, seeded. */
function uniform(seed: number, n: number, range: number): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => range * (2 * next() - 1));
}

/** X [M, K] in ±2 with large values planted in dims 3 and 11. */
function plantedX(seed: number): number[] {
  const x = uniform(seed, M * K, 2);
  x[2 * K + 3] = 40;
  x[7 * K + 3] = -25;
  x[5 * K + 11] = 9;
  return x;
}

/** Runs the operator on X [rows, K] and W [K, N]. */
function run(x: number[], w: number[], threshold: number): Float32Array {
  const node = makeNode("LlmInt8MatMul", "op", ["x", "w"], ["y"], {
    threshold: attr.float(threshold),
  });
  const inputs: Tensor[] = [
    tensor("f32", [x.length / K, K], x),
    tensor("f32", [K, N], w),
  ];
  return getOp("LlmInt8MatMul").evaluate(inputs, node)[0].data as Float32Array;
}

/** Exact f32-operand product in double. */
function f32Product(x: number[], w: number[]): number[] {
  const f = (v: number) => Math.fround(v);
  const rows = x.length / K;
  const y = new Array<number>(rows * N).fill(0);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < N; j++) {
      for (let k = 0; k < K; k++) {
        y[i * N + j] += f(x[i * K + k]) * f(w[k * N + j]);
      }
    }
  }
  return y;
}

/**
 * Hand-written scalar LLM.int8(): the paper's steps one by one — outlier
 * dims, X without them quantised by row absmax, W by column absmax,
 * int32 product dequantised, plus the f32 product of the outlier dims.
 */
function scalarReference(x: number[], w: number[], threshold: number) {
  const f = (v: number) => Math.fround(v);
  const rows = x.length / K;
  const outliers = new Set<number>();
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < K; k++) {
      if (Math.abs(f(x[i * K + k])) >= threshold) outliers.add(k);
    }
  }
  const y: number[] = [];
  for (let i = 0; i < rows; i++) {
    let rowMax = 0;
    for (let k = 0; k < K; k++) {
      if (!outliers.has(k)) {
        rowMax = Math.max(rowMax, Math.abs(f(x[i * K + k])));
      }
    }
    for (let j = 0; j < N; j++) {
      let colMax = 0;
      for (let k = 0; k < K; k++) {
        colMax = Math.max(colMax, Math.abs(f(w[k * N + j])));
      }
      let int32 = 0;
      let float = 0;
      for (let k = 0; k < K; k++) {
        const xv = f(x[i * K + k]);
        const wv = f(w[k * N + j]);
        if (outliers.has(k)) {
          float += xv * wv;
          continue;
        }
        const qx = rowMax === 0 ? 0 : roundHalfEven(xv * 127 / rowMax);
        const qw = colMax === 0 ? 0 : roundHalfEven(wv * 127 / colMax);
        assert.ok(Math.abs(qx) <= 127 && Math.abs(qw) <= 127);
        int32 += qx * qw;
      }
      y.push(Math.fround(float + int32 * (rowMax / 127) * (colMax / 127)));
    }
  }
  return y;
}

/** Per-tensor int8 absmax for both operands (what outliers ruin). */
function perTensorInt8(x: number[], w: number[]): number[] {
  const q = (v: number[]) => {
    const step = Math.max(...v.map(Math.abs)) / 127;
    return v.map((e) => roundHalfEven(e / step) * step);
  };
  return f32Product(q(x), q(w));
}

/** max |a − b| / max |b|. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

Deno.test("roundHalfEven sends ties to the even neighbour", () => {
  assert.deepEqual(
    [2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.4, -1.6, 7].map(roundHalfEven),
    [2, 4, -2, -4, 0, -0, 1, -2, 7],
  );
});

Deno.test("LlmInt8MatMul matches the scalar reference with planted outliers", () => {
  for (const seed of [1, 2, 3]) {
    const x = plantedX(seed);
    const w = uniform(seed + 100, K * N, 0.5);
    for (const threshold of [6, 1.5]) {
      const got = run(x, w, threshold);
      const want = scalarReference(x, w, threshold);
      assert.ok(relError(got, want) < 1e-6, `seed ${seed} t ${threshold}`);
    }
  }
});

Deno.test("LlmInt8MatMul beats per-tensor int8 by far when outliers are present", () => {
  const x = plantedX(4);
  const w = uniform(5, K * N, 0.5);
  const exact = f32Product(x, w);
  const mixed = relError(run(x, w, 6), exact);
  const perTensor = relError(perTensorInt8(x, w), exact);
  assert.ok(mixed < 0.01, `LLM.int8() error ${mixed}`);
  assert.ok(mixed * 10 < perTensor, `${mixed} vs per-tensor ${perTensor}`);
});

Deno.test("LlmInt8MatMul without outliers is int8 absmax, with threshold 0 is f32", () => {
  const x = uniform(6, M * K, 5.9);
  const w = uniform(7, K * N, 0.5);
  const pure = scalarReference(x, w, Infinity);
  assert.ok(relError(run(x, w, 6), pure) < 1e-6);
  assert.ok(relError(run(x, w, 6), f32Product(x, w)) > 1e-4, "it quantises");
  assert.ok(relError(run(x, w, 0), f32Product(x, w)) < 1e-6);
});

Deno.test("LlmInt8MatMul types [..., K]·[K, N] and rejects bad operands", () => {
  const g = parseGraph(`graph t {
  input x: f32[2,3,4]
  const w: f32[4,5] = [${new Array(20).fill(0.5).join(", ")}]
  %y: f32[2,3,5] = LlmInt8MatMul(x, w) {threshold=6.0} @y
  output y
}`);
  verify(g, { requireTypes: true });
  const def = getOp("LlmInt8MatMul");
  const node = (t: number) =>
    makeNode("LlmInt8MatMul", "bad", ["x", "w"], ["y"], {
      threshold: attr.float(t),
    });
  const infer = (w: number[], t = 6) =>
    def.infer({
      node: node(t),
      inputs: [{ dtype: "f32", shape: [2, 4] }, { dtype: "f32", shape: w }],
      values: [undefined, undefined],
    });
  assert.deepEqual(infer([4, 5])[0].shape, [2, 5]);
  assert.throws(() => infer([3, 5]), /inner dims differ/);
  assert.throws(() => infer([2, 2, 5]), /W rank 2/);
  assert.throws(() => infer([4, 5], -1), /threshold must be finite and ≥ 0/);
});

Deno.test("llmInt8 rewrites only linears x·W and runs", () => {
  const before = parseGraph(
    Deno.readTextFileSync(`${GOLDEN_DIR}llm-int8.before.ir`),
  );
  const { graph, rewritten } = llmInt8(before);
  assert.deepEqual(rewritten, [
    "/layer.0/attention/self/query/MatMul",
    "/layer.0/attention/self/key/MatMul",
  ]);
  verify(graph, { requireTypes: true, requireStatic: true });
  const picked = llmInt8(before, { select: (n) => n.name.includes("key") });
  assert.deepEqual(picked.rewritten, ["/layer.0/attention/self/key/MatMul"]);
  const feeds = new Map([["x", tensor("f32", [2, 3, 4], uniform(8, 24, 3))]]);
  const exact = execute(before, feeds);
  const mixed = execute(graph, feeds);
  // |x| < 6 everywhere: all int8, close but not exact.
  for (const [name, t] of exact) {
    const e = relError(mixed.get(name)!.data, t.data);
    assert.ok(e > 0 && e < 0.05, `${name}: ${e}`);
  }
  // Threshold 0 sends every dim through f32: exact.
  const float = execute(llmInt8(before, { threshold: 0 }).graph, feeds);
  for (const [name, t] of exact) {
    assert.ok(relError(float.get(name)!.data, t.data) < 1e-6, name);
  }
  assert.throws(() => llmInt8(before, { threshold: -1 }), RangeError);
});
