/**
 * `insert-dropout`: training-mode dropout at BERT's dropout sites, as
 * Hugging Face's `BertForSequenceClassification` applies it in `train()`:
 *
 * - `embeddings` — the embeddings LayerNorm's output (the one LayerNorm
 *   with no LayerNorm upstream), hidden probability;
 * - `attention` — every attention-probability Softmax feeding a MatMul
 *   (`attention.self.dropout`), attention probability;
 * - `residual` — every dense result entering a residual Add + LayerNorm
 *   (`attention.output.dropout`, `output.dropout`), hidden probability;
 * - `pooled` — the pooler's Tanh output where a linear layer (the
 *   classifier) reads it, hidden probability.
 *
 * The sites are found by structure on the fused forward IR (after
 * `fuse-layer-norm` and `fuse-gelu`), not by node names, so every exporter's
 * BERT gets them. Each site becomes one `DropoutTrain` seeded by the
 * training step (an i64 scalar input, added when missing) with its own
 * `stream` — the site's value name hashed with the run seed — so masks
 * differ between sites, steps and seeds, and a resumed run draws exactly
 * the masks of an uninterrupted one.
 *
 * Before (abridged):
 * ```text
 * %/att/probs: f32[2,4,4] = Softmax(/att/scaled) {axis=-1} @/att/Softmax
 * %/att/context: f32[2,4,8] = MatMul(/att/probs, /att/v) @/att/MatMul_1
 * ```
 * After:
 * ```text
 * input step: i64[]
 * %/att/probs: f32[2,4,4] = Softmax(/att/scaled) {axis=-1} @/att/Softmax
 * %/att/probs/dropout: f32[2,4,4], %/att/probs/dropout_mask: bool[2,4,4] = DropoutTrain(/att/probs, step) {ratio=0.2, stream=2424686352} @/att/Softmax/dropout
 * %/att/context: f32[2,4,8] = MatMul(/att/probs/dropout, /att/v) @/att/MatMul_1
 * ```
 * The full pair is `tests/passes/golden/insert-dropout.{before,after}.ir`.
 *
 * @module
 */

import { attr, type Graph, type Node, withParts } from "../ir/graph.ts";
import { streamId } from "../ops/quantize_ops.ts";
import { GraphEditor } from "../recipes/editor.ts";
import { GraphIndex } from "./graph_index.ts";
import { STEP_INPUT } from "./optimizer.ts";
import type { Pass } from "./pass.ts";

/** Dropout probabilities and seeding (Hugging Face `BertConfig` names in the docs). */
export interface DropoutOptions {
  /** `hidden_dropout_prob`, in [0, 1): embeddings, residual and pooled sites. */
  readonly hidden: number;
  /** `attention_probs_dropout_prob`, in [0, 1): the attention probabilities. */
  readonly attention: number;
  /** Run seed, folded into every site's stream (default 0). */
  readonly seed?: number;
  /** The i64 scalar input that seeds the masks (default the optimizer's `step`). */
  readonly step?: string;
}

/** What a dropout site regularises. */
export type DropoutKind = "embeddings" | "attention" | "residual" | "pooled";

/** One place a dropout goes: `value` as the `readers` see it. */
export interface DropoutSite {
  /** What the site is. */
  readonly kind: DropoutKind;
  /** The value dropped out. */
  readonly value: string;
  /** The node defining `value`. */
  readonly producer: Node;
  /** The nodes that read the dropped-out value instead of `value`, in graph order. */
  readonly readers: readonly Node[];
}

/** Options that cannot give a dropout. */
export class DropoutError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "DropoutError";
  }
}

/**
 * A graph's values that depend on no input: its constants and what nodes
 * compute from them alone. Weights count wherever an exporter left them
 * behind an `Identity` or `Transpose` that preserving them kept unfolded
 * (torch.onnx ties equal biases through `Identity`).
 */
function parameterValues(graph: Graph): Set<string> {
  const fixed = new Set(graph.constants.keys());
  for (const node of graph.nodes) {
    if (node.inputs.every((i) => i === "" || fixed.has(i))) {
      for (const o of node.outputs) fixed.add(o);
    }
  }
  return fixed;
}

/** Structural look-ups of the dropout sites. */
class Sites {
  readonly index: GraphIndex;
  private readonly fixed: Set<string>;

  /** Indexes `graph`. */
  constructor(graph: Graph) {
    this.index = new GraphIndex(graph);
    this.fixed = parameterValues(graph);
  }

  /** Whether `node` is a MatMul or Gemm of an activation by a weight. */
  isLinear(node: Node): boolean {
    return (node.op === "MatMul" || node.op === "Gemm") &&
      !this.fixed.has(node.inputs[0]) && this.fixed.has(node.inputs[1]);
  }

  /**
   * Whether `value` is a dense layer's result: a linear, or one plus a
   * bias. A Reshape around the product is looked through (keras2onnx's
   * Tensordot flattens to 2-D and back).
   */
  isDense(value: string): boolean {
    const node = this.index.producer(value);
    if (node === undefined) return false;
    if (node.op !== "Add") return this.isProduct(value);
    const [a, b] = node.inputs;
    return this.fixed.has(a) !== this.fixed.has(b) &&
      this.isProduct(this.fixed.has(a) ? b : a);
  }

  /** Whether `value` is a linear's output, possibly reshaped. */
  private isProduct(value: string): boolean {
    const node = this.index.producer(value);
    if (node?.op === "Reshape") return this.isProduct(node.inputs[0]);
    return node !== undefined && this.isLinear(node);
  }
}

/** The LayerNorms with no LayerNorm upstream: BERT's embeddings LayerNorm. */
function firstLayerNorms(graph: Graph): Node[] {
  const downstream = new Set<string>();
  const first: Node[] = [];
  for (const node of graph.nodes) {
    const after = node.inputs.some((i) => downstream.has(i));
    if (node.op === "LayerNorm" && !after) first.push(node);
    if (after || node.op === "LayerNorm") {
      for (const o of node.outputs) downstream.add(o);
    }
  }
  return first;
}

/**
 * The site of a residual connection into LayerNorm `norm`: the dense operand
 * of the Add it normalises (none when `norm` reads no such Add).
 */
function residualSite(sites: Sites, norm: Node): DropoutSite[] {
  const { index } = sites;
  const add = index.producer(norm.inputs[0], "Add");
  if (add === undefined || index.soleConsumer(add.outputs[0]) !== norm) {
    return [];
  }
  const dense = add.inputs.filter((i) => sites.isDense(i));
  if (dense.length !== 1 || add.inputs[0] === add.inputs[1]) return [];
  return [{
    kind: "residual",
    value: dense[0],
    producer: index.producer(dense[0])!,
    readers: [add],
  }];
}

/** A site on a node's first output, read by `readers` (none: no site). */
function siteOn(
  kind: DropoutKind,
  producer: Node,
  readers: readonly Node[],
): DropoutSite[] {
  return readers.length === 0
    ? []
    : [{ kind, value: producer.outputs[0], producer, readers }];
}

/** Every dropout site of a fused BERT forward graph, in graph order. */
export function dropoutSites(graph: Graph): DropoutSite[] {
  const sites = new Sites(graph);
  const first = new Set(firstLayerNorms(graph));
  const readers = (node: Node) => sites.index.consumersOf(node.outputs[0]);
  const found = graph.nodes.flatMap((node): DropoutSite[] => {
    switch (node.op) {
      case "LayerNorm":
        return first.has(node)
          ? siteOn("embeddings", node, readers(node))
          : residualSite(sites, node);
      case "Softmax":
        return readers(node).some((r) => r.op === "MatMul")
          ? siteOn("attention", node, readers(node))
          : [];
      case "Tanh":
        return siteOn(
          "pooled",
          node,
          readers(node).filter((r) => sites.isLinear(r)),
        );
      default:
        return [];
    }
  });
  const order = new Map(graph.nodes.map((n, i) => [n, i]));
  return found.sort((a, b) => order.get(a.producer)! - order.get(b.producer)!);
}

/** Checks a dropout probability lies in [0, 1). */
function checkRatio(name: string, p: number): void {
  if (!(p >= 0 && p < 1)) {
    throw new DropoutError(`${name} dropout ${p} is not in [0, 1).`);
  }
}

/** The graph with `step` as an i64 scalar input (added when missing). */
function withStep(graph: Graph, step: string): Graph {
  if (graph.inputs.includes(step)) {
    const type = graph.types.get(step);
    if (type?.dtype !== "i64" || type.shape.length !== 0) {
      throw new DropoutError(`input '${step}' must be an i64 scalar.`);
    }
    return graph;
  }
  if (graph.types.has(step) || graph.constants.has(step)) {
    throw new DropoutError(`value '${step}' exists but is not an input.`);
  }
  return withParts(graph, {
    inputs: [...graph.inputs, step],
    types: [...graph.types, [step, { dtype: "i64", shape: [] }]],
  });
}

/**
 * `graph` (a fused BERT forward graph) with a `DropoutTrain` at each of its
 * {@linkcode dropoutSites} whose probability is above 0; the graph itself
 * when there is none (p = 0 inserts nothing).
 *
 * @throws {DropoutError} for a probability outside [0, 1) or a step input
 * that is not an i64 scalar.
 */
export function insertDropout(graph: Graph, options: DropoutOptions): Graph {
  checkRatio("hidden", options.hidden);
  checkRatio("attention", options.attention);
  const ratioOf = (kind: DropoutKind) =>
    kind === "attention" ? options.attention : options.hidden;
  const sites = dropoutSites(graph).filter((s) => ratioOf(s.kind) > 0);
  if (sites.length === 0) return graph;
  const step = options.step ?? STEP_INPUT;
  const editor = new GraphEditor(withStep(graph, step));
  for (const site of sites) {
    const node = editor.make(
      "DropoutTrain",
      `${site.producer.name}/dropout`,
      [site.value, step],
      {
        ratio: attr.float(ratioOf(site.kind)),
        stream: attr.int(streamId(site.value, options.seed ?? 0)),
      },
      [`${site.value}/dropout`, `${site.value}/dropout_mask`],
    );
    // Before the first reader: after the producer, and before every node
    // that now reads the dropped-out value.
    editor.insertBefore(site.readers[0], [node]);
    const map = new Map([[site.value, node.outputs[0]]]);
    for (const reader of site.readers) editor.redirect(reader, map);
  }
  return editor.build();
}

/** The `insert-dropout` pass with fixed options. */
export function insertDropoutPass(options: DropoutOptions): Pass {
  return {
    name: "insert-dropout",
    summary:
      "training dropout at BERT's sites: embeddings, attention probabilities, residual denses, pooled output",
    // It runs on its own on a fused forward graph (as `compileTraining` does),
    // so it names no property an earlier pass in its list must provide.
    requires: [],
    provides: ["dropout"],
    run: (graph) => insertDropout(graph, options),
  };
}
