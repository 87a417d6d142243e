/**
 * `llm-int8` (LLM.int8(), NUMERICS.md §4): every selected linear
 * `MatMul(x, W)` with a constant 2-D float weight becomes
 * `LlmInt8MatMul(x, W) {threshold}` — hidden dims of x holding any
 * |x| ≥ threshold (decided per batch at run time) through an f32 product,
 * the rest int8 with per-row absmax scales for x and per-column ones for W
 * (`src/ops/llm_int8.ts` defines the operator exactly).
 *
 * Before / after (`tests/passes/golden/llm-int8.*.ir`):
 * ```text
 * %q = MatMul(y, wq)   →   %q = LlmInt8MatMul(y, wq) {threshold=6.0}
 * ```
 * Activation-by-activation products (attention scores and context) and Gemm
 * nodes stay as they are; the report names every linear left alone.
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
import { DEFAULT_LLM_INT8_THRESHOLD } from "../ops/llm_int8.ts";
import type { Pass } from "./pass.ts";

/** Options of {@linkcode llmInt8}. */
export interface LlmInt8Options {
  /** Outlier threshold on |x| (default 6, LLM.int8()'s). */
  readonly threshold?: number;
  /** Which eligible linears to rewrite, by node (default: all). */
  readonly select?: (node: Node) => boolean;
}

/** What {@linkcode llmInt8} did. */
export interface LlmInt8Result {
  /** The rewritten graph. */
  readonly graph: Graph;
  /** Names of the MatMuls now computed as LlmInt8MatMul, in graph order. */
  readonly rewritten: readonly string[];
}

/** Whether `node` is `x·W` with W a constant 2-D f32 matrix and x a computed f32 value. */
function isLinear(graph: Graph, node: Node): boolean {
  if (node.op !== "MatMul") return false;
  const [x, w] = node.inputs;
  const weight = graph.constants.get(w);
  return weight !== undefined && !graph.constants.has(x) &&
    weight.shape.length === 2 && weight.dtype === "f32" &&
    graph.types.get(x)?.dtype === "f32";
}

/**
 * Rewrites every selected linear MatMul of `graph` into `LlmInt8MatMul`
 * (see the module doc). Throws when the threshold is negative or not
 * finite, since no run of the graph could then succeed.
 */
export function llmInt8(
  graph: Graph,
  options: LlmInt8Options = {},
): LlmInt8Result {
  const threshold = options.threshold ?? DEFAULT_LLM_INT8_THRESHOLD;
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new RangeError(
      `LLM.int8() threshold must be finite and ≥ 0, got ${threshold}.`,
    );
  }
  const select = options.select ?? (() => true);
  const rewritten: string[] = [];
  const nodes = graph.nodes.map((node) => {
    if (!isLinear(graph, node) || !select(node)) return node;
    rewritten.push(node.name);
    return makeNode("LlmInt8MatMul", node.name, node.inputs, node.outputs, {
      threshold: attr.float(threshold),
    });
  });
  return { graph: withParts(graph, { nodes }), rewritten };
}

/** The `llm-int8` pass (on a typed graph), with {@linkcode llmInt8}'s options. */
export function llmInt8Pass(options: LlmInt8Options = {}): Pass {
  return {
    name: "llm-int8",
    summary:
      "LLM.int8(): linear MatMuls → int8 absmax with f32 outlier dims (|x| ≥ threshold)",
    requires: ["types"],
    provides: ["llm-int8"],
    run: (graph) => llmInt8(graph, options).graph,
  };
}
