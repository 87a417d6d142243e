/**
 * LLM.int8() in ops the WASM engine has kernels for. `LlmInt8MatMul`
 * (`src/ops/llm_int8.ts`) has only its reference evaluator, which the engine
 * runs as a JS fallback about 25× slower than the rest of a BERT-mini
 * forward pass; scoring dev sets needs the engine's GEMMs. Each
 * `LlmInt8MatMul(x, W) {threshold}` with x [..., K] becomes
 * ```text
 * m_out = Cast(ReduceMax(|x|, every axis but the last) ≥ threshold)   [1, …, K]
 * x_in  = x·(1 − m_out);  x_out = x·m_out
 * a     = max(ReduceMax(|x_in|, last axis) / 127, FLT_MIN)           [..., 1]
 * q     = Floor(x_in / a + ½)                                         |q| ≤ 127
 * y     = (MatMul(q, Q_W) · b) · a + MatMul(x_out, W)
 * ```
 * with Q_W = rne(W / b) and b_n = max_k |W[k,n]| / 127 folded at compile
 * time. Q_W and q are integers in f32 and |Σ q·Q_W| ≤ 127²·K < 2²⁴ for
 * K ≤ 1040, so the integer GEMM is exact as an f32 GEMM. It differs from
 * the reference only in rounding: the scales apply in f32 rather than
 * double, and a code exactly halfway rounds up rather than to even.
 *
 * @module
 */

import {
  attr,
  type Graph,
  makeNode,
  type Node,
  withParts,
} from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { roundHalfEven } from "../ops/llm_int8.ts";
import { floatAttr } from "../ir/graph.ts";
import { propagate } from "../passes/propagate.ts";
import { PtqError } from "./params.ts";

/** ONNX's dtype code of f32, for Cast's `to`. */
const ONNX_FLOAT = 1;

/** Largest code of the absmax quantiser. */
const Q_MAX = 127;

/** Per-column absmax codes Q_W and scales b of W [K, N] (the op's rule). */
export function columnCodes(
  w: Tensor,
): { codes: Float32Array; scales: Float32Array } {
  const [k, n] = w.shape;
  const scales = new Float64Array(n);
  for (let i = 0; i < k * n; i++) {
    scales[i % n] = Math.max(scales[i % n], Math.abs(w.data[i]) / Q_MAX);
  }
  const codes = new Float32Array(k * n);
  for (let i = 0; i < k * n; i++) {
    const s = scales[i % n];
    codes[i] = s === 0 ? 0 : roundHalfEven(w.data[i] / s);
  }
  return { codes, scales: Float32Array.from(scales) };
}

/**
 * `graph` with every `LlmInt8MatMul` node (weight a 2-D f32 constant)
 * replaced by the decomposition of the module doc; other nodes unchanged.
 */
export function decomposeLlmInt8(graph: Graph): Graph {
  const constants = new Map(graph.constants);
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    if (node.op !== "LlmInt8MatMul") {
      nodes.push(node);
      continue;
    }
    const [x, wName] = node.inputs;
    const w = graph.constants.get(wName);
    const rank = graph.types.get(x)?.shape.length;
    if (w === undefined || w.shape.length !== 2 || rank === undefined) {
      throw new PtqError(
        `LlmInt8MatMul '${node.name}' needs a typed input and a constant 2-D weight.`,
      );
    }
    const p = `${node.name}/llm_int8`;
    const v = (s: string) => `${p}/${s}`;
    const c = (s: string, t: Tensor) => {
      constants.set(v(s), t);
      return v(s);
    };
    const { codes, scales } = columnCodes(w);
    const [k, n] = w.shape;
    const threshold = floatAttr(node.attrs, "threshold", 6);
    const leading = Array.from({ length: rank - 1 }, (_, i) => i);
    const op = (o: string, out: string, ins: string[], attrs = {}) =>
      nodes.push(makeNode(o, v(out), ins, [v(out)], attrs));
    op("Abs", "abs", [x]);
    op("ReduceMax", "col_max", [
      v("abs"),
      c("leading_axes", tensor("i64", [rank - 1], leading)),
    ]);
    op("GreaterOrEqual", "is_outlier", [
      v("col_max"),
      c("threshold", tensor("f32", [], [threshold])),
    ]);
    op("Cast", "m_out", [v("is_outlier")], { to: attr.int(ONNX_FLOAT) });
    op("Sub", "m_in", [c("one", tensor("f32", [], [1])), v("m_out")]);
    op("Mul", "x_in", [x, v("m_in")]);
    op("Mul", "x_out", [x, v("m_out")]);
    op("Abs", "abs_in", [v("x_in")]);
    op("ReduceMax", "row_max", [
      v("abs_in"),
      c("last_axis", tensor("i64", [1], [rank - 1])),
    ]);
    op("Div", "row_scale", [
      v("row_max"),
      c("q_max", tensor("f32", [], [Q_MAX])),
    ]);
    op("Max", "a", [
      v("row_scale"),
      c("tiny", tensor("f32", [], [1.1754943508222875e-38])),
    ]);
    op("Div", "scaled", [v("x_in"), v("a")]);
    op("Add", "shifted", [v("scaled"), c("half", tensor("f32", [], [0.5]))]);
    op("Floor", "q", [v("shifted")]);
    op("MatMul", "int_sum", [
      v("q"),
      c("w_codes", tensor("f32", [k, n], codes)),
    ]);
    op("Mul", "col_scaled", [
      v("int_sum"),
      c("w_scales", tensor("f32", [n], scales)),
    ]);
    op("Mul", "int_part", [v("col_scaled"), v("a")]);
    op("MatMul", "outlier_part", [v("x_out"), wName]);
    nodes.push(
      makeNode("Add", node.name, [v("outlier_part"), v("int_part")], [
        ...node.outputs,
      ]),
    );
  }
  const rewritten = withParts(graph, { nodes, constants });
  return withParts(rewritten, { types: propagate(rewritten).types });
}
