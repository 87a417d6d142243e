/**
 * The `ptq` rewrite: fake quantisation of a compiled forward graph, so the
 * reference executor computes the W{w}A{a} integer model's numbers in f32.
 *
 * Every linear-layer input `x` (see `linear_inputs.ts`) gets
 * ```text
 * %x.ptq_div   = Div(x, x.ptq_scale)
 * %x.ptq_shift = Add(x.ptq_div, x.ptq_zero_half)       (z + ½)
 * %x.ptq_q     = Floor(x.ptq_shift) {ptq_alpha, ptq_scale, ptq_zero_point, …}
 * %x.ptq_lo    = Max(x.ptq_q, x.ptq_qmin)               (0)
 * %x.ptq_code  = Min(x.ptq_lo, x.ptq_qmax)              (2^a − 1)
 * %x.ptq_int   = Sub(x.ptq_code, x.ptq_zero_point)
 * %x.ptq       = Mul(x.ptq_int, x.ptq_scale)
 * ```
 * and the linears read `x.ptq`; each weight constant `W` is replaced by
 * `W.ptq_w{bits}`, its per-channel quantised-dequantised values. Every op
 * is a plain elementwise op, so the WASM engine runs the graph with its own
 * kernels (no quantisation-specific kernel needed).
 *
 * @module
 */

import { findLinearInputs } from "../analysis/linear_inputs.ts";
import {
  attr,
  type Attrs,
  type Graph,
  intAttr,
  makeNode,
  type Node,
  typeOfTensor,
  type ValueType,
  withParts,
} from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import {
  type ActivationParams,
  activationQmax,
  checkBits,
  PtqError,
  quantiseWeight,
} from "./params.ts";

/** What the rewrite needs. */
export interface FakeQuantOptions {
  /** Weight bits (2–16). */
  readonly weightBits: number;
  /** Activation parameters per linear-input value name. */
  readonly sites: ReadonlyMap<string, ActivationParams>;
  /** The calibration's α and method, recorded as attributes. */
  readonly alpha?: number;
  /** Calibration method name. */
  readonly method?: string;
  /** Leave activations in f32 (weights only). */
  readonly weightsOnly?: boolean;
}

const f32Scalar = (v: number): Tensor => tensor("f32", [], [v]);

/** The fake-quantised graph of `graph` (compiled, static shapes). */
export function fakeQuantise(graph: Graph, options: FakeQuantOptions): Graph {
  checkBits(options.weightBits, "Weight");
  const inputs = findLinearInputs(graph);
  const constants = new Map(graph.constants);
  const types = new Map<string, ValueType>(graph.types);
  const addConstant = (name: string, t: Tensor) => {
    constants.set(name, t);
    types.set(name, typeOfTensor(t));
  };
  // Which linear node reads which replacement for which input.
  const rename = new Map<string, Map<string, string>>();
  const setRename = (node: string, from: string, to: string) => {
    const m = rename.get(node) ?? new Map<string, string>();
    m.set(from, to);
    rename.set(node, m);
  };
  const after = new Map<string, Node[]>(); // producer output → inserted nodes
  const front: Node[] = [];
  const quantisedWeights = new Map<string, string>();
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));

  for (const site of inputs) {
    for (const nodeName of site.nodes) {
      const node = byName.get(nodeName)!;
      const { w, t, axis } = linearWeight(graph, node);
      let wq = quantisedWeights.get(w);
      if (wq === undefined) {
        const q = quantiseWeight(
          t.data as Float32Array,
          t.shape[0],
          t.shape[1],
          axis,
          options.weightBits,
        );
        wq = `${w}.ptq_w${options.weightBits}`;
        addConstant(wq, { dtype: "f32", shape: [...t.shape], data: q.values });
        quantisedWeights.set(w, wq);
      }
      setRename(nodeName, w, wq);
    }
    if (options.weightsOnly) continue;
    const p = options.sites.get(site.value);
    if (p === undefined) {
      throw new PtqError(
        `No calibration for linear input '${site.value}' (layer ${site.layer}, ${site.role}); calibrate this model again.`,
      );
    }
    checkBits(p.bits, "Activation");
    const v = site.value;
    const type = types.get(v);
    if (type === undefined) {
      throw new PtqError(
        `Linear input '${v}' has no type; infer shapes first.`,
      );
    }
    const c = (suffix: string, value: number) => {
      addConstant(`${v}.${suffix}`, f32Scalar(value));
      return `${v}.${suffix}`;
    };
    const scale = c("ptq_scale", p.scale);
    const zeroHalf = c("ptq_zero_half", p.zeroPoint + 0.5);
    const qmin = c("ptq_qmin", 0);
    const qmax = c("ptq_qmax", activationQmax(p.bits));
    const zero = c("ptq_zero_point", p.zeroPoint);
    const info = quantiserAttrs(p, options);
    const steps: [string, string, string[], Attrs][] = [
      ["Div", "ptq_div", [v, scale], {}],
      ["Add", "ptq_shift", [`${v}.ptq_div`, zeroHalf], {}],
      ["Floor", "ptq_q", [`${v}.ptq_shift`], info],
      ["Max", "ptq_lo", [`${v}.ptq_q`, qmin], {}],
      ["Min", "ptq_code", [`${v}.ptq_lo`, qmax], {}],
      ["Sub", "ptq_int", [`${v}.ptq_code`, zero], {}],
      ["Mul", "ptq", [`${v}.ptq_int`, scale], {}],
    ];
    const nodes = steps.map(([op, suffix, ins, attrs]) => {
      types.set(`${v}.${suffix}`, type);
      return makeNode(op, `${v}/${suffix}`, ins, [`${v}.${suffix}`], attrs);
    });
    if (graph.inputs.includes(v)) front.push(...nodes);
    else after.set(v, nodes);
    for (const nodeName of site.nodes) setRename(nodeName, v, `${v}.ptq`);
  }

  const out = spliceQuantisers(graph.nodes, front, after, rename);
  // Original weights no linear reads any more are dropped.
  const used = new Set(out.flatMap((n) => n.inputs));
  for (const w of quantisedWeights.keys()) {
    if (!used.has(w) && !graph.outputs.includes(w)) {
      constants.delete(w);
      types.delete(w);
    }
  }
  return withParts(graph, { nodes: out, constants, types });
}

/** What `--dump-ir` shows of an activation quantiser: range, step, α, method. */
export function quantiserAttrs(
  p: ActivationParams,
  calibration: Pick<FakeQuantOptions, "alpha" | "method">,
): Attrs {
  return {
    ptq_bits: attr.int(p.bits),
    ptq_lo: attr.float(p.lo),
    ptq_hi: attr.float(p.hi),
    ptq_scale: attr.float(p.scale),
    // LSQ+ learns a real-valued offset, so its z is not an integer.
    ptq_zero_point: Number.isInteger(p.zeroPoint)
      ? attr.int(p.zeroPoint)
      : attr.float(p.zeroPoint),
    ...(calibration.alpha === undefined
      ? {}
      : { ptq_alpha: attr.float(calibration.alpha) }),
    ...(calibration.method === undefined
      ? {}
      : { ptq_method: attr.string(calibration.method) }),
  };
}

/** A linear's weight: its name, tensor and output-channel axis. */
export interface LinearWeight {
  /** The weight constant's name. */
  readonly w: string;
  /** Its value, 2-D f32. */
  readonly t: Tensor;
  /** 1 for x·W (`[in, out]`), 0 for a Gemm with transB (`[out, in]`). */
  readonly axis: 0 | 1;
}

/** The constant 2-D f32 weight linear `node` reads as input 1; else a PtqError. */
export function linearWeight(graph: Graph, node: Node): LinearWeight {
  const wIndex = node.inputs.findIndex((n) => graph.constants.has(n));
  if (wIndex !== 1) {
    throw new PtqError(
      `Linear '${node.name}' has its weight as input ${wIndex}; only x·W is supported.`,
    );
  }
  const w = node.inputs[1];
  const t = graph.constants.get(w)!;
  if (t.shape.length !== 2 || t.dtype !== "f32") {
    throw new PtqError(
      `Weight '${w}' of '${node.name}' is ${t.dtype}[${t.shape}]; only 2-D f32 weights are supported.`,
    );
  }
  const transB = node.op === "Gemm" && intAttr(node.attrs, "transB", 0) === 1;
  return { w, t, axis: transB ? 0 : 1 };
}

/**
 * `nodes` with quantisers spliced in: `front` (those of graph inputs) first,
 * each list of `after` right behind the node producing its key, and each
 * node named in `rename` reading its inputs renamed (old name → new).
 */
export function spliceQuantisers(
  nodes: readonly Node[],
  front: readonly Node[],
  after: ReadonlyMap<string, readonly Node[]>,
  rename: ReadonlyMap<string, ReadonlyMap<string, string>>,
): Node[] {
  const out: Node[] = [...front];
  for (const node of nodes) {
    const m = rename.get(node.name);
    out.push(
      m === undefined ? node : makeNode(
        node.op,
        node.name,
        node.inputs.map((i) => m.get(i) ?? i),
        node.outputs,
        node.attrs,
      ),
    );
    for (const o of node.outputs) out.push(...(after.get(o) ?? []));
  }
  return out;
}
