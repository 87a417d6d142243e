/**
 * `attachHead`: turns an encoder-only graph (outputs `last_hidden_state`
 * and `pooler_output`) into a training graph: a task head, its labels
 * input(s) and the loss.
 *
 * - `classification:N` — `logits = pooler_output·Wᵀ + b` (W [N, H], a Gemm
 *   with transB as in Hugging Face's `classifier`), `labels` i64[B],
 *   `loss = SoftmaxCrossEntropy(logits, labels)`;
 * - `regression` — the same with N = 1, `labels` [B] of the hidden dtype,
 *   `loss = MeanSquaredError(logits, labels)`;
 * - `span` — per token `logits = last_hidden_state·W + b` (W [H, 2]),
 *   `start_positions`/`end_positions` i64[B],
 *   `loss = SpanCrossEntropy(logits, start_positions, end_positions)`.
 *
 * Head weights are drawn from a seeded normal with std 0.02 (BERT's
 * initializer range), biases are 0. The new graph outputs `loss` and
 * `logits`.
 *
 * @module
 */

import { type DType, isFloat } from "../ir/dtype.ts";
import {
  type Graph,
  makeNode,
  type Node,
  typeOfTensor,
  type ValueType,
  withParts,
} from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { eliminateDeadCode } from "./dead_code.ts";
import { DEFAULT_OPTIONS } from "./pass.ts";
import { propagate } from "./propagate.ts";

/** A task head. */
export type Head =
  | { readonly kind: "classification"; readonly classes: number }
  | { readonly kind: "regression" }
  | { readonly kind: "span" };

/** A head spec that does not parse, or a graph a head cannot go on. */
export class HeadError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "HeadError";
  }
}

/** Parses `classification:N` (N ≥ 2), `regression` or `span`. */
export function parseHead(text: string): Head {
  const classification = /^classification:(\d+)$/.exec(text);
  if (classification !== null && Number(classification[1]) >= 2) {
    return { kind: "classification", classes: Number(classification[1]) };
  }
  if (text === "regression" || text === "span") return { kind: text };
  throw new HeadError(
    `Unknown head '${text}': use classification:N (N ≥ 2 classes), regression or span.`,
  );
}

/** A graph with a head attached. */
export interface HeadedGraph {
  /** The training graph (outputs `loss`, `logits`). */
  readonly graph: Graph;
  /** The loss value's name. */
  readonly loss: string;
  /** The labels inputs the head added. */
  readonly labels: readonly string[];
  /** The trainable parameters, see {@linkcode trainableParameters}. */
  readonly params: readonly string[];
}

/** Options of {@linkcode attachHead}. */
export interface HeadOptions {
  /** Seed of the head's weight initialisation (default 0). */
  readonly seed?: number;
}

/** N(0, std²) samples from a seeded mulberry32 stream, by Box–Muller. */
function normals(n: number, std: number, seed: number): number[] {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return Array.from(
    { length: n },
    () =>
      std * Math.sqrt(-2 * Math.log(uniform())) *
      Math.cos(2 * Math.PI * uniform()),
  );
}

/** The static type of a graph value, or a {@linkcode HeadError}. */
function staticType(
  graph: Graph,
  name: string,
): ValueType & { shape: number[] } {
  const type = graph.types.get(name);
  if (
    !graph.outputs.includes(name) || type === undefined ||
    type.shape.some((d) => typeof d !== "number")
  ) {
    throw new HeadError(
      `Graph '${graph.name}' needs a statically typed output '${name}' (an encoder after the forward pipeline).`,
    );
  }
  return type as ValueType & { shape: number[] };
}

/** What one head adds: constants, inputs with their types, nodes, loss op. */
interface HeadParts {
  constants: [string, Tensor][];
  inputs: [string, ValueType][];
  nodes: Node[];
}

/** Builds the nodes of `head` over the encoder outputs. */
function headParts(graph: Graph, head: Head, seed: number): HeadParts {
  const hidden = staticType(graph, "last_hidden_state");
  const dtype: DType = hidden.dtype;
  const [batch, , width] = hidden.shape;
  const weight = (name: string, shape: number[]): [string, Tensor] => [
    name,
    tensor(dtype, shape, normals(shape[0] * shape[1], 0.02, seed)),
  ];
  if (head.kind === "span") {
    return {
      constants: [
        weight("qa_outputs.weight", [width, 2]),
        ["qa_outputs.bias", tensor(dtype, [2])],
      ],
      inputs: [
        ["start_positions", { dtype: "i64", shape: [batch] }],
        ["end_positions", { dtype: "i64", shape: [batch] }],
      ],
      nodes: [
        makeNode("MatMul", "/qa_outputs/MatMul", [
          "last_hidden_state",
          "qa_outputs.weight",
        ], ["/qa_outputs/MatMul_output_0"]),
        makeNode("Add", "/qa_outputs/Add", [
          "/qa_outputs/MatMul_output_0",
          "qa_outputs.bias",
        ], ["logits"]),
        makeNode("SpanCrossEntropy", "/loss", [
          "logits",
          "start_positions",
          "end_positions",
        ], ["loss"]),
      ],
    };
  }
  const classes = head.kind === "classification" ? head.classes : 1;
  const loss = head.kind === "classification"
    ? "SoftmaxCrossEntropy"
    : "MeanSquaredError";
  return {
    constants: [
      weight("classifier.weight", [
        classes,
        staticType(graph, "pooler_output").shape[1],
      ]),
      ["classifier.bias", tensor(dtype, [classes])],
    ],
    inputs: [[
      "labels",
      { dtype: head.kind === "classification" ? "i64" : dtype, shape: [batch] },
    ]],
    nodes: [
      makeNode(
        "Gemm",
        "/classifier/Gemm",
        [
          "pooler_output",
          "classifier.weight",
          "classifier.bias",
        ],
        ["logits"],
        { transB: { kind: "int", value: 1 } },
      ),
      makeNode(loss, "/loss", ["logits", "labels"], ["loss"]),
    ],
  };
}

/**
 * Attaches `head` (a {@linkcode Head} or its text form) to an encoder
 * graph with static types.
 *
 * @throws {HeadError} for a bad head spec, a graph without typed
 * `last_hidden_state`/`pooler_output`, or names the head would reuse.
 */
export function attachHead(
  graph: Graph,
  head: Head | string,
  options: HeadOptions = {},
): HeadedGraph {
  const spec = typeof head === "string" ? parseHead(head) : head;
  const parts = headParts(graph, spec, options.seed ?? 0);
  const taken = new Set([
    ...graph.inputs,
    ...graph.constants.keys(),
    ...graph.nodes.flatMap((n) => n.outputs),
  ]);
  const added = [
    ...parts.constants.map(([n]) => n),
    ...parts.inputs.map(([n]) => n),
    ...parts.nodes.flatMap((n) => n.outputs),
  ];
  const clash = added.find((n) => taken.has(n));
  if (clash !== undefined) {
    throw new HeadError(
      `Graph '${graph.name}' already has a value '${clash}'.`,
    );
  }
  const joined = withParts(graph, {
    inputs: [...graph.inputs, ...parts.inputs.map(([n]) => n)],
    outputs: ["loss", "logits"],
    constants: [...graph.constants, ...parts.constants],
    nodes: [...graph.nodes, ...parts.nodes],
    types: [...graph.types, ...parts.inputs],
  });
  const typed = withParts(joined, { types: propagate(joined).types });
  const result = eliminateDeadCode.run(typed, DEFAULT_OPTIONS);
  return {
    graph: result,
    loss: "loss",
    labels: parts.inputs.map(([n]) => n),
    params: trainableParameters(result, "loss"),
  };
}

/**
 * The trainable parameters of `graph` for `loss`: every float constant
 * with more than one element from which a path of float values leads to
 * the loss (integer tables such as position ids, and scalars such as the
 * attention-mask fill value, are not trained), in constant order.
 */
export function trainableParameters(graph: Graph, loss: string): string[] {
  const typeOf = (name: string) =>
    graph.types.get(name) ??
      (graph.constants.has(name)
        ? typeOfTensor(graph.constants.get(name)!)
        : undefined);
  const reaches = new Set([loss]);
  for (let n = graph.nodes.length - 1; n >= 0; n--) {
    const node = graph.nodes[n];
    if (!node.outputs.some((o) => reaches.has(o))) continue;
    for (const input of node.inputs) {
      const type = input === "" ? undefined : typeOf(input);
      if (type !== undefined && isFloat(type.dtype)) reaches.add(input);
    }
  }
  return [...graph.constants].filter(([name, t]) =>
    reaches.has(name) && isFloat(t.dtype) && t.data.length > 1
  ).map(([name]) => name);
}
