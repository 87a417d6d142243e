/**
 * Node-by-node comparison of an engine run with the reference operators,
 * teacher-forced: every node of the original graph is evaluated by its
 * reference operator on the values the engine computed for its inputs, so
 * a difference shows where it arises instead of compounding through the
 * network. The engine keeps every value it computes (`keep`), and the
 * integer forms of the lowered quantisers are turned back into the f32
 * streams the reference operators output (q·Δ, 2γ·k at the gathered
 * columns, Δ_out·q_out).
 *
 * @module
 */

import { Engine } from "../../runtime/engine/mod.ts";
import { floatAttr, type Graph, intAttr } from "../../src/ir/graph.ts";
import type { Tensor } from "../../src/ir/tensor.ts";
import { getOp } from "../../src/ops/mod.ts";
import { relativeError } from "./helpers.ts";

/** Operators whose engine results must equal the reference's bit for bit. */
const EXACT_ENGINE_OPS = new Set([
  "IntMatMul",
  "BfpMap",
  "BfpUnmap",
  "BfpQuantize",
  "F16Round",
  "OutlierTileMap",
  "OutlierSplitMap",
]);

/** What {@linkcode teacherForced} found. */
export interface NodeCheck {
  /** Values that must be exact and are not: `name (op): n of m differ`. */
  readonly inexact: string[];
  /** How many values were compared bit for bit. */
  exact: number;
  /** Largest relative error (∞-norm) per operator of the other values. */
  readonly worst: Map<string, number>;
  /** Engine operators in the graph it ran, with counts. */
  readonly ops: Map<string, number>;
  /** Outlier columns over all side streams, and how many streams hold int16 k. */
  readonly side: { columns: number; wide: number };
}

/** Elements of `a` and `b` that differ (NaN equals NaN). */
function differing(a: Tensor, b: Tensor): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i++) {
    const [x, y] = [a.data[i], b.data[i]];
    if (!(x === y || (Number.isNaN(x) && Number.isNaN(y)))) n++;
    else if (x === 0 && y === 0 && Object.is(x, -0) !== Object.is(y, -0)) n++;
  }
  return n;
}

/** The f32 stream of a lowered quantiser output `k`, from the engine's integers. */
function streamOf(
  engine: Engine,
  op: string,
  node: { name: string; attrs: Parameters<typeof intAttr>[0] },
  value: string,
  k: number,
  shape: readonly number[],
): Tensor | undefined {
  const has = (v: string) => engine.layout.slots.has(v);
  const f32 = (data: Float32Array): Tensor => ({ dtype: "f32", shape, data });
  if (k === 0 && has(`${value}:q`)) {
    const q = engine.value(`${value}:q`).data;
    const e = engine.value(`${value}:e`).data[0];
    return f32(Float32Array.from(q, (v) => v * 2 ** (e - 7)));
  }
  const meta = `${node.name}:meta`;
  if (k !== 1 || !has(meta)) return undefined;
  const m = engine.value(meta).data;
  const [count, bytes, eSide] = [m[0], m[1], m[2]];
  const raw = engine.value(`${node.name}:side`).data;
  // Approach 2 stores wide k as int16 in its int8 slot.
  const values = raw instanceof Int16Array || bytes === 1
    ? raw
    : new Int16Array(raw.buffer, 0, Math.floor(raw.length / 2));
  const cols = shape[shape.length - 1];
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const scale = op === "OutlierTile"
    ? 2 * floatAttr(node.attrs, "gamma", 5)
    : 2 ** (eSide - (intAttr(node.attrs, "outlier_bits", 12) - 1));
  for (let r = 0; r < out.length / cols; r++) {
    for (let c = 0; c < count; c++) {
      out[r * cols + m[3 + c]] = values[r * count + c] * scale;
    }
  }
  return f32(out);
}

/**
 * Runs `graph` once on the engine (all inputs fed) and compares every value
 * with its reference operator evaluated on the engine's inputs: the values
 * of quantisers and integer products exactly, the rest by relative error.
 */
export async function teacherForced(
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor>,
): Promise<NodeCheck> {
  const probe = await Engine.create(graph);
  const producer = new Map(
    probe.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n.op])),
  );
  const keep = [...producer.keys()].filter((v) => v !== "");
  const engine = await Engine.create(graph, { keep });
  engine.run(feeds);
  const env = new Map<string, Tensor>(feeds);
  for (const [name, t] of graph.constants) env.set(name, t);
  const result: NodeCheck = {
    inexact: [],
    exact: 0,
    worst: new Map(),
    ops: new Map(),
    side: { columns: 0, wide: 0 },
  };
  for (const v of keep.filter((v) => v.endsWith(":meta"))) {
    const meta = engine.value(v).data;
    result.side.columns += meta[0];
    if (meta[1] === 2 && producer.get(v) === "OutlierTileMap") {
      result.side.wide++;
    }
  }
  for (const op of producer.values()) {
    result.ops.set(op, (result.ops.get(op) ?? 0) + 1);
  }
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((i) => i === "" ? undefined : env.get(i));
    const want = getOp(node.op).evaluate(inputs, node);
    node.outputs.forEach((v, k) => {
      if (v === "" || want[k] === undefined) return;
      const engineOp = producer.get(v);
      const got = engineOp !== undefined
        ? engine.value(v)
        : streamOf(engine, node.op, node, v, k, want[k].shape);
      const exact = EXACT_ENGINE_OPS.has(engineOp ?? "") ||
        (got !== undefined && engineOp === undefined);
      if (got === undefined) {
        env.set(v, want[k]);
        return;
      }
      if (exact) {
        result.exact++;
        const n = differing(got, want[k]);
        if (n > 0) {
          result.inexact.push(
            `${v} (${node.op}): ${n} of ${got.data.length} differ`,
          );
        }
      } else if (got.dtype === "f32") {
        const e = relativeError(got, want[k]);
        result.worst.set(node.op, Math.max(result.worst.get(node.op) ?? 0, e));
      }
      env.set(v, got);
    });
  }
  return result;
}
