import assert from "node:assert/strict";
import {
  type BfpTensor,
  referenceQuantise,
} from "../../src/codegen/bfp/reference.ts";
import { scaleAccumulators } from "../../src/codegen/bfp/exponent.ts";
import {
  referenceGemmI32,
  rowMajor,
  transposed,
} from "../../src/codegen/gemm/mod.ts";
import { roundToF16 } from "../../src/ir/dtype.ts";
import { printGraph } from "../../src/ir/printer.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { verify } from "../../src/ir/verify.ts";
import { bfpQuantize } from "../../src/passes/bfp_quantize.ts";
import {
  parseRecipe,
  type QuantizeTarget,
  recipePasses,
  trainingTarget,
} from "../../src/recipes/mod.ts";
import { runTwoLayer, twoLayerGraph } from "../recipes/_graphs.ts";

const nearest = (name: string, bits?: number): QuantizeTarget => ({
  recipe: parseRecipe(name, bits === undefined ? {} : { bits }),
  rounding: "nearest",
});

/** Per-tensor BFP-b (nearest) of a [rows, cols] value. */
function bfp(t: Tensor, bits = 8): BfpTensor {
  const [rows, cols] = t.shape;
  return referenceQuantise(t.data as Float32Array, rows, cols, {
    bits: bits as 8,
    rounding: "rne",
    granularity: "tensor",
  });
}

/** f32(A·B)·2^(ea+eb−2(b−1)) from the integer operands: NUMERICS.md §2. */
function integerProduct(
  a: BfpTensor,
  b: BfpTensor,
  transA = false,
  transB = false,
): Float32Array {
  const va = transA
    ? transposed(rowMajor(a.q, a.rows, a.cols))
    : rowMajor(a.q, a.rows, a.cols);
  const vb = transB
    ? transposed(rowMajor(b.q, b.rows, b.cols))
    : rowMajor(b.q, b.rows, b.cols);
  const acc = referenceGemmI32(va, vb);
  return scaleAccumulators(
    acc,
    va.rows,
    vb.cols,
    a.exponents[0] + b.exponents[0] - 2 * (a.params.bits - 1),
    0,
    1,
  );
}

Deno.test("bfp-quantize: forward, dX and dW are the integer GEMMs of NUMERICS.md §2, bit for bit", () => {
  const graph = twoLayerGraph();
  for (const bits of [8, 12]) {
    const q = bfpQuantize(graph, nearest(bits === 8 ? "int8" : "int12"));
    verify(q, { requireTypes: true, requireStatic: true });
    const out = runTwoLayer(q);
    const w2 = graph.constants.get("w2")!;
    const qx = bfp(out.get("a")!, bits);
    const qw = bfp(w2, bits);
    const qg = bfp(out.get("y@grad")!, bits);
    assert.deepEqual(out.get("y")!.data, integerProduct(qx, qw), `Y b${bits}`);
    assert.deepEqual(
      out.get("a@grad")!.data,
      integerProduct(qg, qw, false, true),
      `dX b${bits}`,
    );
    assert.deepEqual(
      out.get("w2@grad")!.data,
      integerProduct(qx, qg, true),
      `dW b${bits}`,
    );
  }
});

Deno.test("bfp-quantize: one map per operand — W shared by forward and dX, X by forward and dW, dY by both backward GEMMs", () => {
  const text = printGraph(bfpQuantize(twoLayerGraph(), nearest("int8")));
  const line = (name: string) =>
    text.split("\n").find((l) =>
      l.endsWith(`@"${name}"`) || l.endsWith(`@${name}`)
    )!;
  assert.match(
    line("/l2/MatMul"),
    /MatMul\(\/l2\/MatMul\/quantize_a, \/l2\/MatMul\/quantize_b\)/,
  );
  assert.match(
    line("/l2/MatMul@grad/Transpose"),
    /Transpose\(\/l2\/MatMul\/quantize_b\)/,
  );
  assert.match(
    line("/l2/MatMul@grad/Transpose_2"),
    /Transpose\(\/l2\/MatMul\/quantize_a\)/,
  );
  assert.match(
    line("/l2/MatMul@grad/MatMul"),
    /MatMul\("\/l2\/MatMul@grad\/quantize_dy"/,
  );
  assert.match(
    line("/l2/MatMul@grad/MatMul_2"),
    /"\/l2\/MatMul@grad\/quantize_dy"\)/,
  );
  assert.equal(text.match(/= BfpQuantize\(/g)!.length, 6);
  // The loss gradient itself stays f32: only the GEMMs read the quantised copy.
  assert.match(line("/act/Gelu@grad/GeluGrad"), /GeluGrad\("a@grad", h\)/);
});

Deno.test("bfp-quantize: stochastic rounding is reproducible for a step and changes with it", () => {
  const graph = bfpQuantize(
    twoLayerGraph(),
    trainingTarget(parseRecipe("int8"), 7),
  );
  const at = (step: number) => runTwoLayer(graph, step).get("w2@grad")!.data;
  assert.deepEqual(at(3), at(3));
  assert.notDeepEqual(at(3), at(4));
  const other = bfpQuantize(
    twoLayerGraph(),
    trainingTarget(parseRecipe("int8"), 8),
  );
  assert.notDeepEqual(runTwoLayer(other, 3).get("w2@grad")!.data, at(3));
});

Deno.test("fp16: operands rounded to f16, products in f32", () => {
  const graph = bfpQuantize(twoLayerGraph(), nearest("fp16"));
  const out = runTwoLayer(graph);
  const a = out.get("a")!;
  const w2 = twoLayerGraph().constants.get("w2")!;
  const want = new Float32Array(24);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 4; j++) {
      let sum = 0;
      for (let k = 0; k < 12; k++) {
        sum += roundToF16(a.data[i * 12 + k]) * roundToF16(w2.data[k * 4 + j]);
      }
      want[i * 4 + j] = sum;
    }
  }
  assert.deepEqual(out.get("y")!.data, want);
  assert.equal(printGraph(graph).match(/= F16Round\(/g)!.length, 6);
});

Deno.test("fp32 is the identity: no passes, the same graph", () => {
  const graph = twoLayerGraph();
  const fp32 = parseRecipe("fp32");
  assert.deepEqual(recipePasses(trainingTarget(fp32)), []);
  assert.equal(bfpQuantize(graph, trainingTarget(fp32)), graph);
});

Deno.test("a stochastic graph without a step input rounds from the constant seed 0", () => {
  const target: QuantizeTarget = {
    recipe: parseRecipe("int8"),
    rounding: "stochastic",
  };
  const graph = bfpQuantize(twoLayerGraph(), target);
  assert.equal(graph.constants.get("quantize/seed")?.data[0], 0);
  assert.match(printGraph(graph), /BfpQuantize\(x, quantize\/seed\)/);
  const seeded = bfpQuantize(twoLayerGraph(), { ...target, seed: "step" });
  assert.deepEqual(
    runTwoLayer(graph, 9).get("w2@grad")!.data,
    runTwoLayer(seeded, 0).get("w2@grad")!.data,
  );
});

Deno.test("per-token X and per-channel W exponents factor out of the forward GEMM", () => {
  const target: QuantizeTarget = {
    recipe: parseRecipe("int8", {
      granularity: { activation: "row", weight: "column" },
    }),
    rounding: "nearest",
  };
  const out = runTwoLayer(bfpQuantize(twoLayerGraph(), target));
  const a = out.get("a")!;
  const w2 = twoLayerGraph().constants.get("w2")!;
  const map = (t: Tensor, granularity: "row" | "col") =>
    referenceQuantise(t.data as Float32Array, t.shape[0], t.shape[1], {
      bits: 8,
      rounding: "rne",
      granularity,
    });
  const qx = map(a, "row");
  const qw = map(w2, "col");
  assert.equal(qx.exponents.length, 6);
  assert.equal(qw.exponents.length, 4);
  const acc = referenceGemmI32(rowMajor(qx.q, 6, 12), rowMajor(qw.q, 12, 4));
  assert.deepEqual(
    out.get("y")!.data,
    scaleAccumulators(acc, 6, 4, qx.exponents, qw.exponents, 8),
  );
});
