/**
 * A BERT encoder built directly as an IR graph — the shape torch.onnx
 * exports, after fusion — with seeded random weights or weights supplied by
 * name. It gives the demo a model without any download, and tests a
 * known-good structure to compare imported models against.
 *
 * Parameter names follow Hugging Face (`bert.encoder.layer.0.attention.self.query.weight`);
 * linear weights are stored [in, out] as MatMul reads them — the transpose of
 * the [out, in] layout of a Hugging Face state dict.
 *
 * @module
 */

import {
  attr,
  type Attrs,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  type ValueType,
} from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";

/** The BERT hyper-parameters that shape the graph (Hugging Face config names). */
export interface BertConfig {
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly intermediate_size: number;
  readonly max_position_embeddings: number;
  readonly type_vocab_size: number;
  readonly layer_norm_eps?: number;
}

/** A config that cannot make a BERT. */
export class BertConfigError extends Error {
  /** Names the bad field. */
  constructor(message: string) {
    super(`Invalid BERT config: ${message}`);
    this.name = "BertConfigError";
  }
}

/** Seeded N(0, std²) draws (mulberry32 + Box–Muller). */
function normal(seed: number, std: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () =>
    std * Math.sqrt(-2 * Math.log(uniform())) *
    Math.cos(2 * Math.PI * uniform());
}

class Builder {
  readonly nodes: Node[] = [];
  readonly constants = new Map<string, Tensor>();

  constructor(
    private readonly weights: (
      name: string,
      shape: number[],
      fill: "normal" | "zeros" | "ones",
    ) => Tensor,
  ) {}

  param(
    name: string,
    shape: number[],
    fill: "normal" | "zeros" | "ones" = "normal",
  ): string {
    this.constants.set(name, this.weights(name, shape, fill));
    return name;
  }

  constant(name: string, t: Tensor): string {
    this.constants.set(name, t);
    return name;
  }

  node(op: string, name: string, inputs: string[], attrs: Attrs = {}): string {
    const out = `${name}_output_0`;
    this.nodes.push(makeNode(op, name, inputs, [out], attrs));
    return out;
  }

  linear(
    x: string,
    scope: string,
    param: string,
    inSize: number,
    outSize: number,
  ): string {
    const y = this.node("MatMul", `${scope}/MatMul`, [
      x,
      this.param(`${param}.weight`, [inSize, outSize]),
    ]);
    return this.node("Add", `${scope}/Add`, [
      this.param(`${param}.bias`, [outSize], "zeros"),
      y,
    ]);
  }

  layerNorm(
    x: string,
    scope: string,
    param: string,
    width: number,
    eps: number,
  ): string {
    const w = this.param(`${param}.weight`, [width], "ones");
    const b = this.param(`${param}.bias`, [width], "zeros");
    return this.node("LayerNorm", scope, [x, w, b], {
      axis: attr.int(-1),
      epsilon: attr.float(eps),
    });
  }
}

const SIZES = [
  "vocab_size",
  "hidden_size",
  "num_hidden_layers",
  "num_attention_heads",
  "intermediate_size",
  "max_position_embeddings",
  "type_vocab_size",
] as const;

function checkConfig(c: BertConfig): void {
  for (const k of SIZES) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) {
      throw new BertConfigError(
        `${k} must be a positive integer, got ${c[k]}.`,
      );
    }
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new BertConfigError(
      `hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}.`,
    );
  }
}

function attention(
  b: Builder,
  c: BertConfig,
  x: string,
  mask: string,
  i: number,
): string {
  const scope = `/bert/encoder/layer.${i}/attention`;
  const param = `bert.encoder.layer.${i}.attention`;
  const h = c.hidden_size;
  const heads = c.num_attention_heads;
  const split = b.constant(
    `${scope}/self/split_heads`,
    tensor("i64", [4], [0, 0, heads, h / heads]),
  );
  const merged = b.constant(
    `${scope}/self/merge_heads`,
    tensor("i64", [3], [0, 0, h]),
  );
  const project = (name: string, perm: number[]) => {
    const y = b.linear(
      x,
      `${scope}/self/${name}`,
      `${param}.self.${name}`,
      h,
      h,
    );
    const r = b.node("Reshape", `${scope}/self/${name}/Reshape`, [y, split]);
    return b.node("Transpose", `${scope}/self/${name}/Transpose`, [r], {
      perm: attr.ints(perm),
    });
  };
  const q = project("query", [0, 2, 1, 3]);
  const k = project("key", [0, 2, 3, 1]);
  const v = project("value", [0, 2, 1, 3]);
  const scores = b.node("MatMul", `${scope}/self/MatMul`, [q, k]);
  const scale = b.constant(
    `${scope}/self/scale`,
    tensor("f32", [], [Math.sqrt(h / heads)]),
  );
  const scaled = b.node("Div", `${scope}/self/Div`, [scores, scale]);
  const masked = b.node("Add", `${scope}/self/Add`, [scaled, mask]);
  const probs = b.node("Softmax", `${scope}/self/Softmax`, [masked], {
    axis: attr.int(-1),
  });
  const context = b.node("MatMul", `${scope}/self/MatMul_1`, [probs, v]);
  const t = b.node("Transpose", `${scope}/self/Transpose_3`, [context], {
    perm: attr.ints([0, 2, 1, 3]),
  });
  const joined = b.node("Reshape", `${scope}/self/Reshape_3`, [t, merged]);
  const dense = b.linear(
    joined,
    `${scope}/output/dense`,
    `${param}.output.dense`,
    h,
    h,
  );
  const residual = b.node("Add", `${scope}/output/Add`, [dense, x]);
  return b.layerNorm(
    residual,
    `${scope}/output/LayerNorm`,
    `${param}.output.LayerNorm`,
    h,
    c.layer_norm_eps ?? 1e-12,
  );
}

function feedForward(b: Builder, c: BertConfig, x: string, i: number): string {
  const scope = `/bert/encoder/layer.${i}`;
  const param = `bert.encoder.layer.${i}`;
  const up = b.linear(
    x,
    `${scope}/intermediate/dense`,
    `${param}.intermediate.dense`,
    c.hidden_size,
    c.intermediate_size,
  );
  const act = b.node("Gelu", `${scope}/intermediate`, [up]);
  const down = b.linear(
    act,
    `${scope}/output/dense`,
    `${param}.output.dense`,
    c.intermediate_size,
    c.hidden_size,
  );
  const residual = b.node("Add", `${scope}/output/Add`, [down, x]);
  return b.layerNorm(
    residual,
    `${scope}/output/LayerNorm`,
    `${param}.output.LayerNorm`,
    c.hidden_size,
    c.layer_norm_eps ?? 1e-12,
  );
}

/**
 * The BERT encoder graph: inputs `input_ids`, `attention_mask`,
 * `token_type_ids` (i64 [batch, sequence]); outputs `last_hidden_state` and
 * `pooler_output`. Weights come from `weights(name)` when it has them, else
 * N(0, 0.02²) from `seed` (LayerNorm scales 1, biases 0), as BERT initialises.
 */
export function buildBertGraph(
  config: BertConfig,
  seed = 1,
  weights: (name: string) => Tensor | undefined = () => undefined,
): Graph {
  checkConfig(config);
  const draw = normal(seed, 0.02);
  const b = new Builder((name, shape, fill) => {
    const given = weights(name);
    if (given !== undefined) return given;
    const n = shape.reduce((x, y) => x * y, 1);
    const value = fill === "normal"
      ? draw
      : fill === "ones"
      ? () => 1
      : () => 0;
    return tensor("f32", shape, Array.from({ length: n }, value));
  });
  const h = config.hidden_size;
  const positions = b.constant(
    "/bert/embeddings/position_ids",
    tensor("i64", [1, 1], [0]),
  );
  const word = b.node("Gather", "/bert/embeddings/word_embeddings/Gather", [
    b.param("bert.embeddings.word_embeddings.weight", [config.vocab_size, h]),
    "input_ids",
  ]);
  // Positions 0..sequence-1, sliced from a Range so the graph works for any length.
  const seqLen = b.node("Shape", "/bert/embeddings/Shape", ["input_ids"], {
    start: attr.int(1),
    end: attr.int(2),
  });
  const zero = b.constant("/bert/embeddings/zero", tensor("i64", [], [0]));
  const one = b.constant("/bert/embeddings/one", tensor("i64", [], [1]));
  const length = b.node("Squeeze", "/bert/embeddings/Squeeze", [
    seqLen,
    b.constant("/bert/embeddings/axes0", tensor("i64", [1], [0])),
  ]);
  const range = b.node("Range", "/bert/embeddings/Range", [zero, length, one]);
  const ids = b.node("Add", "/bert/embeddings/position_ids/Add", [
    range,
    positions,
  ]);
  const position = b.node(
    "Gather",
    "/bert/embeddings/position_embeddings/Gather",
    [
      b.param("bert.embeddings.position_embeddings.weight", [
        config.max_position_embeddings,
        h,
      ]),
      ids,
    ],
  );
  const tokenType = b.node(
    "Gather",
    "/bert/embeddings/token_type_embeddings/Gather",
    [
      b.param("bert.embeddings.token_type_embeddings.weight", [
        config.type_vocab_size,
        h,
      ]),
      "token_type_ids",
    ],
  );
  const sum = b.node("Add", "/bert/embeddings/Add_1", [
    b.node("Add", "/bert/embeddings/Add", [word, position]),
    tokenType,
  ]);
  let x = b.layerNorm(
    sum,
    "/bert/embeddings/LayerNorm",
    "bert.embeddings.LayerNorm",
    h,
    config.layer_norm_eps ?? 1e-12,
  );
  const maskF = b.node("Cast", "/bert/Cast", ["attention_mask"], {
    to: attr.int(1),
  });
  const mask4 = b.node("Unsqueeze", "/bert/Unsqueeze", [
    maskF,
    b.constant("/bert/mask_axes", tensor("i64", [2], [1, 2])),
  ]);
  const inverted = b.node("Sub", "/bert/Sub", [
    b.constant("/bert/one", tensor("f32", [], [1])),
    mask4,
  ]);
  const mask = b.node("Mul", "/bert/Mul", [
    inverted,
    b.constant("/bert/mask_value", tensor("f32", [], [-10000])),
  ]);
  for (let i = 0; i < config.num_hidden_layers; i++) {
    x = feedForward(b, config, attention(b, config, x, mask, i), i);
  }
  b.nodes.push(
    makeNode("Identity", "/bert/last_hidden_state", [x], ["last_hidden_state"]),
  );
  const cls = b.node("Gather", "/bert/pooler/Gather", [x, zero], {
    axis: attr.int(1),
  });
  const pooled = b.linear(cls, "/bert/pooler/dense", "bert.pooler.dense", h, h);
  b.nodes.push(
    makeNode("Tanh", "/bert/pooler/activation/Tanh", [pooled], [
      "pooler_output",
    ]),
  );
  const idType: ValueType = { dtype: "i64", shape: ["batch", "sequence"] };
  return makeGraph({
    name: "bert",
    inputs: ["input_ids", "attention_mask", "token_type_ids"],
    outputs: ["last_hidden_state", "pooler_output"],
    constants: b.constants,
    nodes: b.nodes,
    types: [["input_ids", idType], ["attention_mask", idType], [
      "token_type_ids",
      idType,
    ]],
  });
}
