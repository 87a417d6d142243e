/**
 * Post-training integer inference on the int8 kernels: the QuantizedMatMul
 * reference against the integer model written out, its engine kernel bit
 * for bit against the reference, the `ptq-int` rewrite before/after, and
 * bert-tiny served on integer kernels next to the fake-quant emulation.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Engine } from "../../runtime/engine/mod.ts";
import { feedsFor } from "../../src/analysis/model_feeds.ts";
import { execute } from "../../src/executor/execute.ts";
import { attr, makeGraph, makeNode } from "../../src/ir/graph.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { quantizedProduct } from "../../src/ops/quantized_matmul.ts";
import { calibrate } from "../../src/ptq/calibrate.ts";
import { fakeQuantise } from "../../src/ptq/fake_quant.ts";
import { integerLinears } from "../../src/ptq/integer_linear.ts";
import {
  activationParams,
  fakeQuantiseValue,
  parsePrecision,
  quantiseWeight,
} from "../../src/ptq/params.ts";
import { relativeError } from "../engine/helpers.ts";
import { tinySetup } from "./_bert_tiny.ts";
import { exportOnnx } from "../../src/export/onnx_export.ts";
import { relativeError as ortError, runOrt } from "../export/ort_run.ts";

/** A deterministic generator in [−0.5, 0.5). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

Deno.test("QuantizedMatMul reference: Σ (c − z)·q·Δ·Δ_n, codes as fake quant's", () => {
  const r = lcg(5);
  const [m, k, n] = [7, 33, 5];
  const x = Float32Array.from({ length: m * k }, () => 12 * r());
  const w = Float32Array.from({ length: k * n }, () => r());
  for (const bits of [4, 6, 8]) {
    const p = activationParams(-3, 5, bits);
    const q = quantiseWeight(w, k, n, 1, 8);
    const code = { scale: p.scale, zeroPoint: p.zeroPoint, bits };
    const y = quantizedProduct(x, q.codes, q.scales, m, k, n, code);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let integer = 0, emulated = 0;
        for (let kk = 0; kk < k; kk++) {
          const v = fakeQuantiseValue(x[i * k + kk], p);
          integer += Math.round(v / p.scale) * q.codes[kk * n + j];
          emulated += v * q.values[kk * n + j];
        }
        const want = Math.fround(integer * (p.scale * q.scales[j]));
        assert.equal(y[i * n + j], want, `bits ${bits} (${i}, ${j})`);
        assert.ok(Math.abs(y[i * n + j] - emulated) <= 1e-5 * k);
      }
    }
  }
});

/** One QuantizedMatMul node over x [m, k] with random codes W [k, n]. */
function productGraph(
  m: number,
  k: number,
  n: number,
  bits: number,
  zeroPoint: number,
  scale: number,
  withBias: boolean,
) {
  const r = lcg(m * 1000 + k * 10 + n);
  const q = quantiseWeight(
    Float32Array.from({ length: k * n }, () => r()),
    k,
    n,
    1,
    8,
  );
  return makeGraph({
    name: "product",
    inputs: ["x"],
    outputs: ["y"],
    constants: [
      ["wq", tensor("i8", [k, n], Int8Array.from(q.codes))],
      ["ws", tensor("f32", [n], q.scales)],
      ["b", tensor("f32", [n], Array.from({ length: n }, () => r()))],
    ],
    nodes: [
      makeNode(
        "QuantizedMatMul",
        "layer.0/output/dense/MatMul/ptq_int",
        ["x", "wq", "ws", ...(withBias ? ["b"] : [])],
        ["y"],
        {
          ptq_scale: attr.float(scale),
          ptq_zero_point: attr.float(zeroPoint),
          ptq_bits: attr.int(bits),
        },
      ),
    ],
    types: [
      ["x", { dtype: "f32", shape: [m, k] }],
      ["wq", { dtype: "i8", shape: [k, n] }],
      ["ws", { dtype: "f32", shape: [n] }],
      ["b", { dtype: "f32", shape: [n] }],
      ["y", { dtype: "f32", shape: [m, n] }],
    ],
  });
}

Deno.test("QuantizedMatMul engine kernel = reference, bit for bit", async () => {
  const cases: [number, number, number, number, number][] = [
    // m, k, n, bits, zero point (LSQ+'s real offsets too)
    [1, 4, 3, 8, 128],
    [5, 64, 12, 8, 0],
    [37, 129, 50, 8, 255],
    [16, 256, 40, 6, 21],
    [9, 100, 13, 4, 7.25],
    [40, 31, 7, 2, 1],
  ];
  for (const [index, [m, k, n, bits, z]] of cases.entries()) {
    const g = productGraph(m, k, n, bits, z, 0.05, index % 2 === 1);
    const r = lcg(k);
    // Wide enough to saturate both ends of the code range.
    const x = tensor(
      "f32",
      [m, k],
      Array.from({ length: m * k }, () => 40 * r()),
    );
    const want = execute(g, { x }).get("y")!;
    using engine = await Engine.create(g);
    assert.deepEqual(engine.fallbacks(), []);
    const got = engine.run({ x }).get("y")!;
    assert.deepEqual(got.data, want.data, `${m}×${k}×${n} a${bits} z ${z}`);
    // A second run reuses the packed weight.
    assert.deepEqual(engine.run({ x }).get("y")!.data, want.data);
  }
});

/**
 * y = x·W + b → z = Gemm(y, V, C, transB): a MatMul with a bias Add, and a
 * Gemm whose C has shape `cShape`.
 */
function tinyGraph(cShape: number[] = [1, 2]) {
  const r = lcg(7);
  const t = (shape: number[], s: number) =>
    tensor(
      "f32",
      shape,
      Array.from({ length: shape.reduce((a, b) => a * b) }, () => s * r()),
    );
  return makeGraph({
    name: "tiny",
    inputs: ["x"],
    outputs: ["z"],
    constants: [
      ["w", t([4, 3], 1)],
      ["b", t([3], 1)],
      ["v", t([2, 3], 3)],
      ["c", t(cShape, 1)],
    ],
    nodes: [
      makeNode("MatMul", "layer.0/intermediate/dense/MatMul", ["x", "w"], [
        "y0",
      ]),
      makeNode("Add", "layer.0/intermediate/dense/Add", ["y0", "b"], ["y"]),
      makeNode("Gemm", "classifier/Gemm", ["y", "v", "c"], ["z"], {
        transB: attr.int(1),
      }),
    ],
    types: [
      ["x", { dtype: "f32", shape: [5, 4] }],
      ["w", { dtype: "f32", shape: [4, 3] }],
      ["b", { dtype: "f32", shape: [3] }],
      ["v", { dtype: "f32", shape: [2, 3] }],
      ["c", { dtype: "f32", shape: cShape }],
      ["y0", { dtype: "f32", shape: [5, 3] }],
      ["y", { dtype: "f32", shape: [5, 3] }],
      ["z", { dtype: "f32", shape: [5, 2] }],
    ],
  });
}

Deno.test("ptq-int rewrite: before/after IR, same codes as fake quant", async () => {
  const sites = new Map([
    ["x", activationParams(-2, 3, 8)],
    ["y", activationParams(-0.6, 0.7, 8)],
  ]);
  const r = lcg(11);
  const x = tensor("f32", [5, 4], Array.from({ length: 20 }, () => 8 * r()));
  for (const cShape of [[1, 2], [2]]) {
    const g = tinyGraph(cShape);
    const before = printGraph(g);
    assert.match(before, /%y0: f32\[5,3\] = MatMul\(x, w\)/);
    const q = integerLinears(g, { weightBits: 8, sites, alpha: 0.97 });
    const after = printGraph(q);
    // The bias Add is fused; a Gemm's 1-D C too, any other C stays an Add.
    assert.match(
      after,
      /%y: f32\[5,3\] = QuantizedMatMul\(x, w\.ptq_q8, w\.ptq_wscale, b\)/,
    );
    if (cShape.length === 1) {
      assert.match(
        after,
        /%z: f32\[5,2\] = QuantizedMatMul\(y, v\.ptq_q8, v\.ptq_wscale, c\)/,
      );
    } else {
      assert.match(
        after,
        /%z\.ptq_int: f32\[5,2\] = QuantizedMatMul\(y, v\.ptq_q8/,
      );
      assert.match(after, /%z: f32\[5,2\] = Add\(z\.ptq_int, c\)/);
    }
    assert.match(after, /ptq_alpha=0\.97/);
    assert.doesNotMatch(after, /= MatMul\(|= Gemm\(|y0/);
    assert.ok(!q.constants.has("w") && !q.constants.has("v"));
    // The transposed Gemm weight becomes [in, out] codes.
    const v = quantiseWeight(g.constants.get("v")!.data, 2, 3, 0, 8).codes;
    const vq = q.constants.get("v.ptq_q8")!;
    assert.deepEqual(vq.shape, [3, 2]);
    assert.deepEqual(
      Array.from(vq.data),
      [0, 1, 2, 3, 4, 5].map((i) => v[(i % 2) * 3 + Math.floor(i / 2)]),
    );
    const fake = fakeQuantise(g, { weightBits: 8, sites });
    const emulated = execute(fake, { x }).get("z")!;
    const integer = execute(q, { x }).get("z")!;
    assert.ok(relativeError(integer, emulated) < 1e-5);
    using engine = await Engine.create(q);
    assert.deepEqual(engine.fallbacks(), []);
    assert.deepEqual(engine.run({ x }).get("z")!.data, integer.data);
  }
});

Deno.test("ptq-int refuses wide formats and uncalibrated inputs", () => {
  const g = tinyGraph();
  const sites = new Map([
    ["x", activationParams(-2, 3, 8)],
    ["y", activationParams(-1, 1, 8)],
  ]);
  assert.throws(
    () => integerLinears(g, { weightBits: 12, sites }),
    /Weight bits 12 exceed the int8 kernels' 8; use the fake-quant emulation/,
  );
  assert.throws(
    () =>
      integerLinears(g, {
        weightBits: 8,
        sites: new Map([...sites, ["y", activationParams(-1, 1, 16)]]),
      }),
    /Activation bits 16 exceed/,
  );
  assert.throws(
    () =>
      integerLinears(g, {
        weightBits: 8,
        sites: new Map([...sites].slice(0, 1)),
      }),
    /No calibration for linear input 'y'/,
  );
});

Deno.test("bert-tiny on integer kernels: as the reference, close to fake quant", async () => {
  const { batches, compile } = await tinySetup();
  for (const precision of ["w8a8", "w4a8", "w6a6"]) {
    const p = parsePrecision(precision);
    const params = await calibrate(compile, batches, p, "minmax");
    const options = {
      weightBits: p.weightBits,
      sites: new Map(params.sites.map((s) => [s.value, s])),
    };
    const b = batches[0];
    const f32 = compile(b.batchSize, b.seqLength);
    const q = integerLinears(f32, options);
    assert.equal(q.nodes.filter((n) => n.op === "QuantizedMatMul").length, 14);
    const feeds = feedsFor(q, b);
    using engine = await Engine.create(q);
    assert.deepEqual(engine.fallbacks(), []);
    const got: Tensor = engine.run(feeds).get("logits")!;
    const reference = execute(q, feeds).get("logits")!;
    assert.ok(relativeError(got, reference) < 1e-5, precision);
    const fake = execute(fakeQuantise(f32, options), feeds).get("logits")!;
    assert.ok(relativeError(got, fake) < 1e-3, `${precision} vs fake quant`);
    // As standard ONNX (QuantizeLinear-style codes, MatMulInteger), in ORT.
    const ort = await runOrt(exportOnnx(q), feeds);
    const e = ortError(got, ort.logits);
    assert.ok(e < 1e-5, `${precision}: ORT on the exported model ${e}`);
  }
  // LSQ+'s real offsets have no MatMulInteger form: refused, by node.
  const p = parsePrecision("w8a8");
  const params = await calibrate(compile, batches, p, "minmax");
  const real = params.sites.map((s) => ({
    ...s,
    zeroPoint: s.zeroPoint + 0.25,
  }));
  const b = batches[0];
  const q = integerLinears(compile(b.batchSize, b.seqLength), {
    weightBits: 8,
    sites: new Map(real.map((s) => [s.value, s])),
  });
  assert.throws(
    () => exportOnnx(q),
    /QuantizedMatMul.*not an integer \(LSQ\+'s learned offset\)/s,
  );
});
