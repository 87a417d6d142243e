/**
 * Post-training quantisation (src/ptq): parameters, the fake-quant rewrite,
 * calibration (MinMax, token-wise clipping) and `compile --infer`, on tiny
 * synthetic graphs and bert-tiny-random with real SST-2 sentences.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { Engine } from "../../runtime/engine/mod.ts";
import { calibrateCommand } from "../../src/cli/calibrate.ts";
import { compileCommand } from "../../src/cli/compile.ts";
import { UsageError } from "../../src/cli/args.ts";
import { execute } from "../../src/executor/execute.ts";
import { attr, makeGraph, makeNode } from "../../src/ir/graph.ts";
import { tensor } from "../../src/ir/tensor.ts";
import { feedsFor } from "../../src/analysis/model_feeds.ts";
import {
  alphaCandidates,
  calibrate,
  chooseSamples,
  clippedRanges,
  collectStats,
  quantisedMse,
  siteParams,
} from "../../src/ptq/calibrate.ts";
import { fakeQuantise } from "../../src/ptq/fake_quant.ts";
import {
  activationParams,
  fakeQuantiseValue,
  PARAMS_FILE,
  parsePrecision,
  PtqError,
  quantiseWeight,
} from "../../src/ptq/params.ts";
import { inferArgs, tinySetup } from "./_bert_tiny.ts";

const MODEL = "../shared/models/bert-tiny-random/model.onnx";

/** A random-ish generator for synthetic data. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** y = x·W (W [4, 3]) → z = Gemm(y, V, transB) (V [2, 3]). */
function tinyGraph() {
  const r = lcg(7);
  const w = tensor("f32", [4, 3], Array.from({ length: 12 }, () => r()));
  const v = tensor("f32", [2, 3], Array.from({ length: 6 }, () => 3 * r()));
  return makeGraph({
    name: "tiny",
    inputs: ["x"],
    outputs: ["z"],
    constants: [["w", w], ["v", v]],
    nodes: [
      makeNode("MatMul", "layer.0/intermediate/dense/MatMul", ["x", "w"], [
        "y",
      ]),
      makeNode("Gemm", "classifier/Gemm", ["y", "v"], ["z"], {
        transB: attr.int(1),
      }),
    ],
    types: [
      ["x", { dtype: "f32", shape: [5, 4] }],
      ["w", { dtype: "f32", shape: [4, 3] }],
      ["v", { dtype: "f32", shape: [2, 3] }],
      ["y", { dtype: "f32", shape: [5, 3] }],
      ["z", { dtype: "f32", shape: [5, 2] }],
    ],
  });
}

Deno.test("weights: per-output-channel symmetric, within half a step", () => {
  const r = lcg(3);
  const data = Float32Array.from({ length: 6 * 5 }, () => r() * 4);
  for (const bits of [4, 6, 8]) {
    for (const axis of [0, 1] as const) {
      const { values, scales } = quantiseWeight(data, 6, 5, axis, bits);
      const qmax = 2 ** (bits - 1) - 1;
      assert.equal(scales.length, axis === 1 ? 5 : 6);
      for (let i = 0; i < data.length; i++) {
        const c = axis === 1 ? i % 5 : Math.floor(i / 5);
        const s = scales[c];
        assert.ok(Math.abs(values[i] - data[i]) <= s / 2 + 1e-6 * s);
        const q = values[i] / s;
        assert.ok(Math.abs(q - Math.round(q)) < 1e-4, "on the grid");
        assert.ok(Math.abs(q) <= qmax + 1e-4);
      }
      // Each channel's largest |w| maps to ±qmax exactly.
      for (let c = 0; c < scales.length; c++) {
        let m = 0;
        for (let i = 0; i < data.length; i++) {
          if ((axis === 1 ? i % 5 : Math.floor(i / 5)) === c) {
            m = Math.max(m, Math.abs(data[i]));
          }
        }
        assert.ok(Math.abs(scales[c] - m / qmax) <= 1e-6 * m);
      }
    }
  }
});

Deno.test("activations: asymmetric range, clamped, zero exact", () => {
  const p = activationParams(-1.5, 6.25, 8);
  assert.equal(p.zeroPoint, Math.round(1.5 / p.scale));
  assert.equal(fakeQuantiseValue(0, p), 0);
  const lo = -p.zeroPoint * p.scale;
  const hi = (255 - p.zeroPoint) * p.scale;
  for (const x of [-100, -1.5, -0.3, 0.01, 3, 6.25, 1e4]) {
    const y = fakeQuantiseValue(x, p);
    assert.ok(y >= lo - 1e-6 && y <= hi + 1e-6, `${x} → ${y}`);
    if (x >= -1.5 && x <= 6.25) {
      assert.ok(Math.abs(y - x) <= p.scale / 2 + 1e-6);
    }
  }
  assert.equal(fakeQuantiseValue(-100, p), Math.fround(lo));
  // A positive-only range is widened to hold 0.
  assert.equal(activationParams(2, 5, 8).lo, 0);
});

Deno.test("fake-quant graph computes exactly the integer model", () => {
  const g = tinyGraph();
  const r = lcg(11);
  const x = tensor("f32", [5, 4], Array.from({ length: 20 }, () => 8 * r()));
  const py = activationParams(-0.6, 0.7, 6);
  const px = activationParams(-2, 3, 6);
  const q = fakeQuantise(g, {
    weightBits: 4,
    sites: new Map([["x", px], ["y", py]]),
    alpha: 0.97,
  });
  const wq = quantiseWeight(g.constants.get("w")!.data, 4, 3, 1, 4).values;
  const vq = quantiseWeight(g.constants.get("v")!.data, 2, 3, 0, 4).values;
  assert.deepEqual(q.constants.get("w.ptq_w4")!.data, wq);
  assert.deepEqual(q.constants.get("v.ptq_w4")!.data, vq);
  assert.ok(!q.constants.has("w"), "the f32 weight is gone");
  const got = execute(q, { x }, ["y"]);
  // Scalar reference of the same integer model.
  const xq = Array.from(x.data, (v) => fakeQuantiseValue(v, px));
  const y = new Float32Array(15);
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += xq[i * 4 + k] * wq[k * 3 + j];
      y[i * 3 + j] = s;
    }
  }
  assert.deepEqual(got.get("y")!.data, y);
  const yq = Array.from(y, (v) => fakeQuantiseValue(v, py));
  const z = new Float32Array(10);
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += yq[i * 3 + k] * vq[j * 3 + k];
      z[i * 2 + j] = s;
    }
  }
  assert.deepEqual(got.get("z")!.data, z);
  // Clamped: the quantised input never leaves its range.
  const xs = execute(q, { x }, ["x.ptq"]).get("x.ptq")!.data;
  for (const v of xs) assert.ok(v >= -2 - px.scale && v <= 3 + px.scale);
  assert.throws(
    () => fakeQuantise(g, { weightBits: 8, sites: new Map([["x", px]]) }),
    /No calibration for linear input 'y'/,
  );
});

Deno.test("bad precisions, bits, α and sample counts are refused", () => {
  assert.deepEqual(parsePrecision("W6A6"), {
    name: "w6a6",
    weightBits: 6,
    activationBits: 6,
  });
  assert.throws(() => parsePrecision("w1a8"), /from 2 to 16, got 1/);
  assert.throws(() => parsePrecision("w8a17"), /from 2 to 16, got 17/);
  assert.throws(() => parsePrecision("int8"), /Unknown precision 'int8'/);
  assert.throws(() => quantiseWeight([1], 1, 1, 1, 1), PtqError);
  assert.throws(() => activationParams(0, 1, 20), /from 2 to 16/);
  assert.throws(() => activationParams(2, 1, 8), /Bad clipping range/);
  assert.throws(
    () => chooseSamples(100, 101, 1),
    /Asked for 101 calibration samples but the data has only 100/,
  );
  assert.throws(() => chooseSamples(100, 0, 1), /positive integer/);
  const stats = {
    sites: [],
    tokenMax: new Map(),
    tokenMin: new Map(),
    reference: [],
  };
  assert.throws(() => clippedRanges(stats, 1.01), /α must be in \(0, 1\]/);
  assert.throws(() => clippedRanges(stats, 0), /α must be in \(0, 1\]/);
  assert.deepEqual(alphaCandidates(8).length, 10);
  assert.deepEqual(alphaCandidates(6).length, 30);
  assert.equal(alphaCandidates(6)[29], 0.71);
});

Deno.test("calibration samples: deterministic per seed, seeds differ", () => {
  const a = chooseSamples(67349, 256, 1);
  assert.deepEqual(a, chooseSamples(67349, 256, 1));
  assert.equal(new Set(a).size, 256);
  assert.notDeepEqual(a, chooseSamples(67349, 256, 2));
  assert.ok(
    a.every((i, k) => i >= 0 && i < 67349 && (k === 0 || i > a[k - 1])),
  );
});

/** bert-tiny, 8 SST-2 train sentences chosen by seed 1, and its compiler. */

Deno.test("bert-tiny: W16A16 ≈ f32, W4A8 much worse than W8A8", async () => {
  const { batches, compile } = await tinySetup();
  const stats = await collectStats(compile, batches);
  assert.equal(stats.sites.length, 10);
  const mse = (name: string) => {
    const p = parsePrecision(name);
    return quantisedMse(
      compile,
      batches,
      stats,
      p,
      siteParams(stats, clippedRanges(stats, 1), p),
    );
  };
  const [w16, w8, w4] = await Promise.all(
    ["w16a16", "w8a8", "w4a8"].map(mse),
  );
  const f32 = stats.reference[0].get("logits")!.data;
  const power = Array.from(f32, (v) => v * v).reduce((a, b) => a + b) /
    f32.length;
  assert.ok(w16 < 1e-7 * power, `W16A16 MSE ${w16} vs power ${power}`);
  assert.ok(w8 > w16, `${w8} > ${w16}`);
  assert.ok(w4 > 10 * w8, `W4A8 ${w4} vs W8A8 ${w8}`);
});

Deno.test("bert-tiny: token clipping α ≤ 1 and MSE ≤ MinMax", async () => {
  const { batches, compile } = await tinySetup();
  const p = parsePrecision("w6a6");
  const minmax = await calibrate(compile, batches, p, "minmax");
  assert.equal(minmax.alpha, 1);
  assert.equal(minmax.sites.length, 10);
  // A shorter search keeps the test quick: the first 10 of the 30 candidates.
  const clip = await calibrate(
    compile,
    batches,
    parsePrecision("w6a8"),
    "token-clipping",
  );
  assert.ok(clip.alpha <= 1 && clip.alpha >= 0.91);
  assert.equal(clip.candidates.length, 10);
  assert.equal(clip.candidates[0].alpha, 1);
  assert.ok(clip.mse <= clip.candidates[0].mse);
  assert.equal(
    clip.mse,
    Math.min(...clip.candidates.map((c) => c.mse)),
  );
  // α = 1 is exactly MinMax.
  const mm8 = await calibrate(
    compile,
    batches,
    parsePrecision("w6a8"),
    "minmax",
  );
  assert.equal(clip.candidates[0].mse, mm8.mse);
  assert.ok(clip.mse <= mm8.mse);
  // Clipped ranges shrink monotonically with α.
  const stats = await collectStats(compile, batches);
  const r1 = clippedRanges(stats, 1);
  const r9 = clippedRanges(stats, 0.9);
  for (const [v, r] of r9) {
    assert.ok(r.hi <= r1.get(v)!.hi && r.lo >= r1.get(v)!.lo);
  }
});

Deno.test("bert-tiny: the WASM engine runs the fake-quantised graph", async () => {
  const { graph, batches, compile } = await tinySetup();
  const p = parsePrecision("w8a8");
  const params = await calibrate(compile, batches, p, "minmax");
  const b = batches[0];
  const q = fakeQuantise(compile(b.batchSize, b.seqLength), {
    weightBits: 8,
    sites: new Map(params.sites.map((s) => [s.value, s])),
  });
  const feeds = feedsFor(q, b);
  const want = execute(q, feeds).get("logits")!.data;
  const engine = await Engine.create(q);
  const got = engine.run(feeds).get("logits")!.data;
  let err = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    norm = Math.max(norm, Math.abs(want[i]));
  }
  assert.ok(err <= 1e-3 * norm, `engine vs reference ${err} (max ${norm})`);
  assert.deepEqual(engine.fallbacks(), [], JSON.stringify(engine.fallbacks()));
  assert.ok(graph.nodes.length > 0);
});

Deno.test("calibrate CLI + compile --infer --dump-ir show α and scales", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cal = join(dir, "cal");
    const common = ["--model", MODEL, "--task", "sst2", "--out", cal];
    await assert.rejects(
      () => calibrateCommand([...common, "--samples", "70000"]),
      (e: Error) =>
        e instanceof UsageError && /data has only 67349/.test(e.message),
    );
    await assert.rejects(
      () => calibrateCommand([...common, "--precision", "w1a8"]),
      UsageError,
    );
    await assert.rejects(
      () => calibrateCommand([...common, "--method", "percentile"]),
      /Unknown --method 'percentile'/,
    );
    assert.equal(
      await calibrateCommand([
        ...common,
        "--samples",
        "4",
        "--seed",
        "2",
        "--max-seq-length",
        "16",
      ]),
      0,
    );
    const params = JSON.parse(await Deno.readTextFile(join(cal, PARAMS_FILE)));
    assert.equal(params.method, "minmax");
    assert.equal(params.calibration.indices.length, 4);
    assert.deepEqual(params.calibration.indices, chooseSamples(67349, 4, 2));
    for (const s of params.sites) {
      for (const k of ["lo", "hi", "scale", "zeroPoint"]) {
        assert.equal(typeof s[k], "number");
      }
    }
    const dump = join(dir, "ir");
    const args = inferArgs(MODEL, cal, dump);
    const lastDump = async () => {
      const names = [...Deno.readDirSync(dump)].map((e) => e.name).sort();
      return [
        names.at(-1)!,
        await Deno.readTextFile(join(dump, names.at(-1)!)),
      ];
    };
    const onnx = join(dir, "w8a8.onnx");
    assert.equal(await compileCommand([...args, "--onnx", onnx]), 0);
    const session = await ort.InferenceSession.create(onnx);
    assert.deepEqual(session.outputNames, ["logits"]);
    await session.release();
    const [last, text] = await lastDump();
    assert.match(last, /_ptq-int\.ir$/);
    assert.equal(text.match(/= QuantizedMatMul\(/g)?.length, 14);
    assert.match(text, /ptq_alpha=1\.0/);
    assert.match(text, /ptq_scale=/);
    assert.match(text, /ptq_zero_point=/);
    assert.match(text, /\.ptq_q8: i8\[/);
    assert.match(text, /\.ptq_wscale/);
    await Deno.remove(dump, { recursive: true });
    assert.equal(await compileCommand([...args, "--fake-quant"]), 0);
    const [lastFake, textFake] = await lastDump();
    assert.match(lastFake, /_ptq\.ir$/);
    assert.doesNotMatch(textFake, /QuantizedMatMul/);
    assert.match(textFake, /\.ptq_scale/);
    assert.match(textFake, /\.ptq_w8/);
    await assert.rejects(
      () => compileCommand([MODEL, "--fake-quant"]),
      /--fake-quant only applies with --infer/,
    );
    const w16a8 = [MODEL, "--infer", "--precision", "w16a8"];
    await assert.rejects(
      () => compileCommand([...w16a8, "--calibration", cal, "--seq", "16"]),
      (e: Error) =>
        e instanceof UsageError &&
        /Weight bits 16 exceed the int8 kernels' 8/.test(e.message),
    );
    assert.equal(
      await compileCommand([
        ...w16a8,
        "--calibration",
        cal,
        "--seq",
        "16",
        "--fake-quant",
      ]),
      0,
    );
    await assert.rejects(
      () => compileCommand([MODEL, "--infer", "--precision", "w8a8"]),
      /--infer needs --calibration/,
    );
    await assert.rejects(
      () =>
        compileCommand([
          MODEL,
          "--infer",
          "--precision",
          "w6a6",
          "--calibration",
          cal,
        ]),
      /calibrated for w8a8/,
    );
    await assert.rejects(
      () =>
        compileCommand([
          MODEL,
          "--infer",
          "--precision",
          "w8a8",
          "--calibration",
          cal,
          "--lr",
          "1e-4",
        ]),
      /--lr cannot be used with --infer/,
    );
    // Token clipping on the engine, through the CLI.
    const tc = join(dir, "tc");
    assert.equal(
      await calibrateCommand([
        ...common.slice(0, -1),
        tc,
        "--samples",
        "4",
        "--max-seq-length",
        "16",
        "--method",
        "token-clipping",
        "--precision",
        "w6a6",
        "--engine",
      ]),
      0,
    );
    const clipped = JSON.parse(await Deno.readTextFile(join(tc, PARAMS_FILE)));
    assert.equal(clipped.candidates.length, 30);
    assert.ok(clipped.alpha <= 1 && clipped.alpha >= 0.71);
    assert.ok(clipped.mse <= clipped.candidates[0].mse);
    await assert.rejects(
      () => compileCommand([MODEL, "--calibration", cal]),
      /only applies with --infer/,
    );
    await assert.rejects(
      () =>
        compileCommand([
          MODEL,
          "--infer",
          "--precision",
          "w0a8",
          "--calibration",
          cal,
        ]),
      /from 2 to 16/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
