/**
 * The `ptq-int` rewrite: post-training integer inference on the int8
 * kernels. Each linear x·W of a compiled forward graph (see
 * `linear_inputs.ts`) becomes
 * ```text
 * %y = QuantizedMatMul(x, W.ptq_q{w}, W.ptq_wscale) {ptq_scale, ptq_zero_point, ptq_bits, …}
 * ```
 * with W's per-channel int8 codes and scales as constants and x's
 * calibrated step and zero point as attributes. A bias — a Gemm's 1-D C, or
 * the constant [out] vector of the one Add that reads y — becomes its
 * fourth input (the same f32 addition, fused); any other C stays an Add.
 * The codes are those of the `ptq` fake-quant rewrite, so the two graphs
 * differ only in how the products are summed: exactly in integers here, in
 * f32 there.
 *
 * @module
 */

import { findLinearInputs } from "../analysis/linear_inputs.ts";
import {
  attr,
  floatAttr,
  type Graph,
  intAttr,
  makeNode,
  type Node,
  typeOfTensor,
  type ValueType,
  withParts,
} from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import {
  type FakeQuantOptions,
  linearWeight,
  quantiserAttrs,
} from "./fake_quant.ts";
import { checkBits, PtqError, quantiseWeight } from "./params.ts";

/** Widest operand the int8 kernels take. */
export const MAX_INTEGER_BITS = 8;

/** Throws unless `bits` fits the int8 kernels. */
function checkIntegerBits(bits: number, what: string): void {
  checkBits(bits, what);
  if (bits > MAX_INTEGER_BITS) {
    throw new PtqError(
      `${what} bits ${bits} exceed the int8 kernels' ${MAX_INTEGER_BITS}; use the fake-quant emulation (compile --infer --fake-quant) for wider formats.`,
    );
  }
}

/** W's int8 codes as `[in, out]` and its per-column scales. */
function weightCodes(
  t: Tensor,
  axis: 0 | 1,
  bits: number,
): { codes: Tensor; scales: Tensor } {
  const [rows, cols] = t.shape;
  const q = quantiseWeight(t.data, rows, cols, axis, bits);
  const [k, n] = axis === 1 ? [rows, cols] : [cols, rows];
  const codes = new Int8Array(k * n);
  for (let kk = 0; kk < k; kk++) {
    for (let j = 0; j < n; j++) {
      codes[kk * n + j] = q.codes[axis === 1 ? kk * n + j : j * k + kk];
    }
  }
  return {
    codes: { dtype: "i8", shape: [k, n], data: codes },
    scales: { dtype: "f32", shape: [n], data: q.scales },
  };
}

/** Throws unless Gemm `node` is x·W (+ C) with unit α and β. */
function checkGemm(node: Node): void {
  if (node.op !== "Gemm") return;
  const plain = intAttr(node.attrs, "transA", 0) === 0 &&
    floatAttr(node.attrs, "alpha", 1) === 1 &&
    floatAttr(node.attrs, "beta", 1) === 1;
  if (!plain) {
    throw new PtqError(
      `Gemm '${node.name}' has transA, α or β; the integer path takes x·W (+ C) only.`,
    );
  }
}

/** The integer-inference graph of `graph` (compiled, static shapes). */
export function integerLinears(
  graph: Graph,
  options: FakeQuantOptions,
): Graph {
  checkIntegerBits(options.weightBits, "Weight");
  const constants = new Map(graph.constants);
  const types = new Map<string, ValueType>(graph.types);
  const addConstant = (name: string, t: Tensor) => {
    constants.set(name, t);
    types.set(name, typeOfTensor(t));
  };
  const replaced = new Map<string, Node[]>();
  const readers = new Map<string, Node[]>();
  for (const node of graph.nodes) {
    for (const i of node.inputs) {
      readers.set(i, [...(readers.get(i) ?? []), node]);
    }
  }
  // The constant [n] vector the one reader of `y` adds to it, with that Add.
  const biasAdd = (y: string, n: number) => {
    const after = readers.get(y);
    if (after?.length !== 1 || after[0].op !== "Add") return undefined;
    if (graph.outputs.includes(y)) return undefined;
    const c = after[0].inputs.find((i) => i !== y);
    const t = c === undefined ? undefined : graph.constants.get(c);
    const vector = t?.dtype === "f32" && t.shape.length === 1 &&
      t.shape[0] === n;
    return vector ? { add: after[0], bias: c! } : undefined;
  };
  const weights = new Map<string, [string, string]>();
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const site of findLinearInputs(graph)) {
    const p = options.sites.get(site.value);
    if (p === undefined) {
      throw new PtqError(
        `No calibration for linear input '${site.value}' (layer ${site.layer}, ${site.role}); calibrate this model again.`,
      );
    }
    checkIntegerBits(p.bits, "Activation");
    for (const nodeName of site.nodes) {
      const node = byName.get(nodeName)!;
      checkGemm(node);
      const { w, t, axis } = linearWeight(graph, node);
      let names = weights.get(w);
      if (names === undefined) {
        const { codes, scales } = weightCodes(t, axis, options.weightBits);
        names = [`${w}.ptq_q${options.weightBits}`, `${w}.ptq_wscale`];
        addConstant(names[0], codes);
        addConstant(names[1], scales);
        weights.set(w, names);
      }
      const [y] = node.outputs;
      const n = constants.get(names[0])!.shape[1];
      const c = node.op === "Gemm" ? node.inputs[2] : undefined;
      const cTensor = c === undefined ? undefined : graph.constants.get(c);
      const cIsBias = cTensor?.dtype === "f32" && cTensor.shape.length === 1 &&
        cTensor.shape[0] === n;
      const fused = c === undefined ? biasAdd(y, n) : undefined;
      if (fused !== undefined) replaced.set(fused.add.name, []);
      const bias = fused?.bias ?? (cIsBias ? c : undefined);
      const output = fused?.add.outputs[0] ?? y;
      const product = c === undefined || cIsBias ? output : `${y}.ptq_int`;
      const nodes = [
        makeNode(
          "QuantizedMatMul",
          `${nodeName}/ptq_int`,
          [site.value, ...names, ...(bias === undefined ? [] : [bias])],
          [product],
          {
            ...quantiserAttrs(p, options),
            weight_bits: attr.int(options.weightBits),
          },
        ),
      ];
      if (product !== output) {
        types.set(product, types.get(y)!);
        nodes.push(makeNode("Add", `${nodeName}/ptq_bias`, [product, c!], [y]));
      }
      if (fused !== undefined) types.delete(y);
      replaced.set(nodeName, nodes);
    }
  }
  const nodes = graph.nodes.flatMap((n) => replaced.get(n.name) ?? [n]);
  // Float weights no node reads any more are dropped.
  const used = new Set([...nodes.flatMap((n) => n.inputs), ...graph.outputs]);
  for (const w of weights.keys()) {
    if (!used.has(w)) {
      constants.delete(w);
      types.delete(w);
    }
  }
  return withParts(graph, { nodes, constants, types });
}
