/**
 * Finite-difference checks of the autodiff pass: one-op graphs built from
 * a case description, and a central-difference comparison that works on
 * any graph whose loss is a scalar output.
 *
 * @module
 */

import type { DType } from "../../src/ir/dtype.ts";
import {
  type Attrs,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";
import { execute } from "../../src/executor/execute.ts";
import { inferShapes } from "../../src/passes/infer_shapes.ts";
import { DEFAULT_OPTIONS } from "../../src/passes/pass.ts";
import { rng } from "../ir/random_graph.ts";

/** One input of a one-op case. */
export interface InputSpec {
  /** Shape. */
  readonly shape: readonly number[];
  /** Element type; f64 by default so differences are not lost to rounding. */
  readonly dtype?: DType;
  /** Fixed values (indices, labels, exponents); random when absent. */
  readonly values?: readonly number[];
  /** Whether autodiff differentiates it; by default, when random float. */
  readonly trainable?: boolean;
  /** Random values in [0.5, 2] (for Sqrt, Log, divisors) instead of ±2. */
  readonly positive?: boolean;
}

/** A one-op gradient check. */
export interface RuleCase {
  /** What the case covers, for the test name. */
  readonly label: string;
  /** The operator. */
  readonly op: string;
  /** Its inputs, which become constants `x0`, `x1`, … */
  readonly inputs: readonly InputSpec[];
  /** Its attributes. */
  readonly attrs?: Attrs;
  /** Number of outputs (default 1). */
  readonly outputs?: number;
  /** Outputs the loss reads (default: every float output). */
  readonly used?: readonly number[];
  /** Central-difference step (default 1e-5). */
  readonly step?: number;
}

/** Random values of a spec, kept away from 0 (Relu's kink). */
function randomValues(spec: InputSpec, next: () => number): number[] {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => {
    if (spec.positive) return 0.5 + 1.5 * next();
    const v = 0.2 + 1.8 * next();
    return next() < 0.5 ? -v : v;
  });
}

/**
 * The graph `loss = Σ_k Σ(y_k ⊙ w_k)` over the outputs y of one `op` node
 * with random weights w, its inputs constants; returns it with the names
 * of its trainable inputs.
 */
export function caseGraph(
  c: RuleCase,
  seed = 1,
): { graph: Graph; wrt: string[] } {
  const next = rng(seed);
  const constants = new Map<string, Tensor>();
  const wrt: string[] = [];
  c.inputs.forEach((spec, i) => {
    const dtype = spec.dtype ?? "f64";
    const values = spec.values ?? randomValues(spec, next);
    constants.set(`x${i}`, tensor(dtype, spec.shape, values));
    const float = dtype === "f64" || dtype === "f32";
    if (spec.trainable ?? (float && spec.values === undefined)) {
      wrt.push(`x${i}`);
    }
  });
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, k) => `y${k}`);
  const nodes: Node[] = [
    makeNode(c.op, c.op, c.inputs.map((_, i) => `x${i}`), outs, c.attrs),
  ];
  const typed = inferShapes.run(
    makeGraph({
      name: c.op,
      inputs: [],
      outputs: outs,
      constants,
      nodes,
      types: [],
    }),
    DEFAULT_OPTIONS,
  );
  const used = c.used ??
    outs.flatMap((y, k) => {
      const d = typed.types.get(y)!.dtype;
      return d === "f64" || d === "f32" ? [k] : [];
    });
  const sums = used.map((k) => {
    const type = typed.types.get(outs[k])!;
    const shape = type.shape as number[];
    const w = randomValues({ shape }, next);
    constants.set(`w${k}`, tensor(type.dtype, shape, w));
    nodes.push(makeNode("Mul", `weigh${k}`, [outs[k], `w${k}`], [`m${k}`]));
    nodes.push(
      makeNode("ReduceSum", `sum${k}`, [`m${k}`], [`s${k}`], {
        keepdims: { kind: "int", value: 0 },
      }),
    );
    return `s${k}`;
  });
  let loss = sums[0];
  sums.slice(1).forEach((s, k) => {
    nodes.push(makeNode("Add", `total${k}`, [loss, s], [`t${k}`]));
    loss = `t${k}`;
  });
  nodes.push(makeNode("Identity", "loss", [loss], ["loss"]));
  const graph = inferShapes.run(
    makeGraph({
      name: c.op,
      inputs: [],
      outputs: ["loss"],
      constants,
      nodes,
      types: [],
    }),
    DEFAULT_OPTIONS,
  );
  return { graph, wrt };
}

/** One checked gradient element. */
export interface Sample {
  /** Parameter name. */
  readonly param: string;
  /** Flat element index. */
  readonly index: number;
  /** The gradient autodiff computed. */
  readonly analytic: number;
  /** The central difference. */
  readonly numeric: number;
  /** |analytic − numeric| / max(|analytic|, |numeric|, floor). */
  readonly error: number;
}

/** The loss of `graph` with constant `param` element `index` moved by `delta`. */
function lossAt(
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor>,
  loss: string,
  param: string,
  index: number,
  delta: number,
): number {
  const t = graph.constants.get(param)!;
  const data = t.data.slice();
  data[index] += delta;
  const constants = new Map(graph.constants);
  constants.set(param, { ...t, data });
  const g = makeGraph({ ...graph, outputs: [loss], constants });
  return execute(g, feeds).get(loss)!.data[0];
}

/**
 * Compares `gradients` (by parameter, flat) with central differences of the
 * forward `graph`'s `loss` at the given elements.
 */
export function compareSamples(
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor>,
  loss: string,
  gradients: ReadonlyMap<string, Tensor>,
  picks: readonly { param: string; index: number }[],
  step: number,
  floor: number,
): Sample[] {
  return picks.map(({ param, index }) => {
    const plus = lossAt(graph, feeds, loss, param, index, step);
    const minus = lossAt(graph, feeds, loss, param, index, -step);
    // The step actually taken, after rounding to the parameter's dtype.
    const t = graph.constants.get(param)!;
    const probe = t.data.slice(index, index + 1);
    const base = probe[0];
    probe[0] = base + step;
    const up = probe[0] - base;
    probe[0] = base - step;
    const down = base - probe[0];
    const numeric = (plus - minus) / (up + down);
    const analytic = gradients.get(param)!.data[index];
    const error = Math.abs(analytic - numeric) /
      Math.max(Math.abs(analytic), Math.abs(numeric), floor);
    return { param, index, analytic, numeric, error };
  });
}
