/**
 * The calibration fine-tuning program of Token-Wise Clipping's fine stage
 * (LSQ+ step-size learning) for one batch shape: the compiled f32 forward
 * with weights quantised per channel (frozen constants), an
 * `LsqFakeQuant(x, x.lsq_scale, x.lsq_offset) {bits}` at every linear-layer
 * input (`src/ops/lsq.ts`), the loss
 * ```text
 * loss = Σ_outputs Σ_rows,cols (out − out.target)² · out.weight[row]
 * ```
 * where the f32 model's outputs come in as `<out>.target` and
 * `<out>.weight` is 1/(count of real-token elements) on real rows and 0 on
 * padding rows — the calibration MSE of `outputError` — then autodiff with
 * respect to the quantisers' scales and offsets only and Adam (weight decay
 * 0, no gradient clipping) on a cosine schedule.
 *
 * Each site starts from its coarse-stage parameters: scale Δ, offset −z·Δ.
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import { findLinearInputs } from "../analysis/linear_inputs.ts";
import { rowTokens } from "../analysis/outlier_report.ts";
import {
  attr,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  type ValueType,
} from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { autodiff } from "../passes/autodiff.ts";
import { inferShapes } from "../passes/infer_shapes.ts";
import { appendOptimizer, initialOptimizerState } from "../passes/optimizer.ts";
import { DEFAULT_OPTIONS } from "../passes/pass.ts";
import { fakeQuantise, spliceQuantisers } from "./fake_quant.ts";
import {
  activationQmax,
  type Precision,
  PtqError,
  type SiteParams,
} from "./params.ts";

/** The loss output of the program. */
export const LSQ_LOSS = "loss";

/** The trainable scale constant of the quantiser at linear input `value`. */
export const lsqScaleName = (value: string): string => `${value}.lsq_scale`;
/** The trainable offset constant of the quantiser at linear input `value`. */
export const lsqOffsetName = (value: string): string => `${value}.lsq_offset`;
/** The input carrying the f32 model's value of output `name`. */
export const targetName = (name: string): string => `${name}.target`;
/** The input carrying output `name`'s per-row loss weights. */
export const weightName = (name: string): string => `${name}.weight`;

/** Settings of the program's optimizer. */
export interface LsqSchedule {
  /** Peak learning rate. */
  readonly lr: number;
  /** Steps in the whole run (the cosine reaches 0 there). */
  readonly totalSteps: number;
}

/** One batch shape's step graph and the first values of its state. */
export interface LsqProgram {
  /** Forward, backward and Adam update; `loss` among the outputs. */
  readonly step: Graph;
  /** The trainable scale and offset constants, in site order. */
  readonly params: readonly string[];
  /** The f32 outputs the loss compares. */
  readonly outputs: readonly string[];
  /** The model's own inputs (token ids, mask, types). */
  readonly inputs: readonly string[];
  /** Parameters and Adam moments before the first step. */
  readonly initialState: ReadonlyMap<string, Tensor>;
}

/**
 * The fake-quantised forward of `compiled` with one `LsqFakeQuant` per site
 * (parameters from `sites`) and the weighted squared-error loss.
 */
export function lsqForward(
  compiled: Graph,
  precision: Precision,
  sites: readonly SiteParams[],
): { graph: Graph; params: string[]; outputs: string[] } {
  const byValue = new Map(sites.map((s) => [s.value, s]));
  const weightsOnly = fakeQuantise(compiled, {
    weightBits: precision.weightBits,
    sites: new Map(),
    weightsOnly: true,
  });
  const constants = new Map(weightsOnly.constants);
  const rename = new Map<string, Map<string, string>>();
  const after = new Map<string, Node[]>();
  const front: Node[] = [];
  const params: string[] = [];
  for (const site of findLinearInputs(compiled)) {
    const p = byValue.get(site.value);
    if (p === undefined) {
      throw new PtqError(
        `No coarse-stage parameters for linear input '${site.value}'.`,
      );
    }
    const v = site.value;
    const scale = lsqScaleName(v), offset = lsqOffsetName(v);
    constants.set(scale, tensor("f32", [], [p.scale]));
    constants.set(offset, tensor("f32", [], [-p.zeroPoint * p.scale]));
    params.push(scale, offset);
    const node = makeNode(
      "LsqFakeQuant",
      `${v}/lsq`,
      [v, scale, offset],
      [`${v}.lsq`],
      { bits: attr.int(p.bits) },
    );
    if (compiled.inputs.includes(v)) front.push(node);
    else after.set(v, [node]);
    for (const n of site.nodes) {
      const m = rename.get(n) ?? new Map<string, string>();
      m.set(v, `${v}.lsq`);
      rename.set(n, m);
    }
  }
  const nodes = spliceQuantisers(weightsOnly.nodes, front, after, rename);
  const outputs = compiled.outputs.filter((o) =>
    compiled.types.get(o)?.dtype === "f32"
  );
  const inputs = [...compiled.inputs];
  const types = new Map<string, ValueType>();
  for (const name of compiled.inputs) {
    types.set(name, compiled.types.get(name)!);
  }
  const sums = outputs.map((o) => {
    const shape = compiled.types.get(o)!.shape;
    inputs.push(targetName(o), weightName(o));
    types.set(targetName(o), { dtype: "f32", shape });
    types.set(weightName(o), {
      dtype: "f32",
      shape: [...shape.slice(0, -1), 1],
    });
    nodes.push(
      makeNode("Sub", `${o}/lsq_diff`, [o, targetName(o)], [`${o}.lsq_diff`]),
      makeNode("Mul", `${o}/lsq_sq`, [`${o}.lsq_diff`, `${o}.lsq_diff`], [
        `${o}.lsq_sq`,
      ]),
      makeNode("Mul", `${o}/lsq_weighted`, [`${o}.lsq_sq`, weightName(o)], [
        `${o}.lsq_weighted`,
      ]),
      makeNode("ReduceSum", `${o}/lsq_sum`, [`${o}.lsq_weighted`], [
        `${o}.lsq_sum`,
      ], { keepdims: attr.int(0) }),
    );
    return `${o}.lsq_sum`;
  });
  if (sums.length === 0) {
    throw new PtqError("The model has no f32 output to fine-tune against.");
  }
  let total = sums[0];
  sums.slice(1).forEach((s, k) => {
    nodes.push(makeNode("Add", `lsq/loss_${k}`, [total, s], [`lsq.loss_${k}`]));
    total = `lsq.loss_${k}`;
  });
  nodes.push(makeNode("Identity", "lsq/loss", [total], [LSQ_LOSS]));
  const graph = inferShapes.run(
    makeGraph({
      name: `${compiled.name}.lsq`,
      inputs,
      outputs: [LSQ_LOSS],
      constants,
      nodes,
      types,
    }),
    DEFAULT_OPTIONS,
  );
  return { graph, params, outputs };
}

/** The step graph of `compiled`'s shape: {@linkcode lsqForward}, autodiff, Adam. */
export function lsqProgram(
  compiled: Graph,
  precision: Precision,
  sites: readonly SiteParams[],
  schedule: LsqSchedule,
): LsqProgram {
  const { graph, params, outputs } = lsqForward(compiled, precision, sites);
  const withGrads = autodiff(graph, { loss: LSQ_LOSS, wrt: params });
  const step = appendOptimizer(withGrads, {
    lr: schedule.lr,
    totalSteps: schedule.totalSteps,
    schedule: "cosine",
    weightDecay: 0,
    maxGradNorm: Infinity,
    params,
  });
  return {
    step,
    params,
    outputs,
    inputs: compiled.inputs,
    initialState: initialOptimizerState(withGrads, params),
  };
}

/**
 * The target and weight inputs of one batch: the f32 outputs, and per row
 * 1/`count` on real tokens (0 on padding), `count` being the real-token
 * elements of every output together.
 */
export function lossFeeds(
  batch: BatchEncoding,
  reference: ReadonlyMap<string, Tensor>,
  outputs: readonly string[],
): Map<string, Tensor> {
  const rowsOf = (t: Tensor) => {
    const width = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1];
    return { width, rows: t.data.length / width };
  };
  const masks = outputs.map((o) => {
    const t = reference.get(o)!;
    const { width, rows } = rowsOf(t);
    const token = rowTokens(batch, rows);
    const mask = Array.from(
      { length: rows },
      (_, r): number => token(r) === undefined ? 0 : 1,
    );
    return { t, width, mask };
  });
  const count = masks.reduce(
    (n, { width, mask }) => n + width * mask.reduce((a, b) => a + b, 0),
    0,
  );
  const feeds = new Map<string, Tensor>();
  outputs.forEach((o, k) => {
    const { t, mask } = masks[k];
    feeds.set(targetName(o), t);
    feeds.set(
      weightName(o),
      tensor(
        "f32",
        [...t.shape.slice(0, -1), 1],
        mask.map((m) => count === 0 ? 0 : m / count),
      ),
    );
  });
  return feeds;
}

/**
 * Site parameters from learned (scale s, offset β): Δ = s, z = −β/s (no
 * longer an integer), representable range [β, β + qmax·s].
 */
export function learnedSite(
  site: SiteParams,
  scale: number,
  offset: number,
): SiteParams {
  if (!(scale > 0) || !Number.isFinite(offset)) {
    throw new PtqError(
      `LSQ+ left '${site.value}' with scale ${scale} and offset ${offset}; lower --lsq-lr.`,
    );
  }
  return {
    ...site,
    scale,
    zeroPoint: -offset / scale,
    lo: offset,
    hi: offset + activationQmax(site.bits) * scale,
  };
}
