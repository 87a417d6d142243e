/**
 * Random graphs for the printer/parser property test: awkward names, every
 * attribute kind, symbolic dims, inline and digest constants.
 *
 * @module
 */

import { type DType, DTYPES } from "../../src/ir/dtype.ts";
import {
  type Attr,
  type Dim,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  type ValueType,
} from "../../src/ir/graph.ts";
import { type Tensor, tensor } from "../../src/ir/tensor.ts";

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAME_PARTS = [
  "/bert",
  "/encoder",
  "layer.3",
  "MatMul",
  "onnx::Add_12",
  "a b",
  'q"k',
  "_",
  "0",
  "x:0",
  "é",
  "Gelu",
  "ints",
];

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}

function randomName(r: () => number, used: Set<string>): string {
  for (;;) {
    const n = 1 + Math.floor(r() * 3);
    const name = Array.from({ length: n }, () => pick(r, NAME_PARTS)).join(
      pick(r, ["/", ".", "_", ""]),
    );
    if (!used.has(name) && name !== "") {
      used.add(name);
      return name;
    }
  }
}

function randomShape(r: () => number, symbolic: boolean): Dim[] {
  const rank = Math.floor(r() * 4);
  return Array.from(
    { length: rank },
    () => (symbolic && r() < 0.3
      ? pick(r, ["batch", "seq len", "N"])
      : 1 + Math.floor(r() * 5)),
  );
}

function randomValue(r: () => number, dtype: DType): number {
  if (dtype === "bool") return r() < 0.5 ? 0 : 1;
  if (dtype === "f32" || dtype === "f16" || dtype === "f64") {
    const special = [0, -0, Infinity, -Infinity, NaN, 1e-12, -3.5e7];
    return r() < 0.1
      ? pick(r, special)
      : (r() - 0.5) * 10 ** Math.floor(r() * 8 - 4);
  }
  return Math.floor((r() - 0.5) * 200);
}

function randomTensor(r: () => number, large: boolean): Tensor {
  const dtype = pick(r, DTYPES);
  const shape = large ? [3, 7] : (randomShape(r, false) as number[]);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    dtype,
    shape,
    Array.from({ length: n }, () => randomValue(r, dtype)),
  );
}

function randomAttr(r: () => number): Attr {
  const floats = () =>
    Array.from(
      { length: Math.floor(r() * 3) },
      () => Math.fround(randomValue(r, "f32")),
    );
  switch (Math.floor(r() * 7)) {
    case 0:
      return { kind: "int", value: Math.floor((r() - 0.5) * 1e6) };
    case 1:
      return { kind: "float", value: Math.fround(randomValue(r, "f32")) };
    case 2:
      return {
        kind: "string",
        value: pick(r, ["none", "tanh", 'a "quoted" string', ""]),
      };
    case 3:
      return {
        kind: "ints",
        value: Array.from(
          { length: Math.floor(r() * 4) },
          () => Math.floor((r() - 0.5) * 10),
        ),
      };
    case 4:
      return { kind: "floats", value: floats() };
    case 5:
      return {
        kind: "strings",
        value: Array.from(
          { length: Math.floor(r() * 3) },
          () => pick(r, ["x", "y z"]),
        ),
      };
    default:
      return { kind: "tensor", value: randomTensor(r, r() < 0.2) };
  }
}

/** A random well-formed graph from `seed`. */
export function randomGraph(seed: number): Graph {
  const r = rng(seed);
  const used = new Set<string>();
  const values: string[] = [];
  const types = new Map<string, ValueType>();
  const inputs = Array.from(
    { length: 1 + Math.floor(r() * 3) },
    () => randomName(r, used),
  );
  for (const name of inputs) {
    types.set(name, { dtype: pick(r, DTYPES), shape: randomShape(r, true) });
    values.push(name);
  }
  const constants = new Map<string, Tensor>();
  for (let i = Math.floor(r() * 4); i > 0; i--) {
    const name = randomName(r, used);
    constants.set(name, randomTensor(r, r() < 0.3));
    values.push(name);
  }
  const nodes: Node[] = [];
  for (let i = Math.floor(r() * 8); i > 0; i--) {
    const ins = Array.from(
      { length: Math.floor(r() * 4) },
      () => (r() < 0.1 ? "" : pick(r, values)),
    );
    const outs = Array.from(
      { length: 1 + Math.floor(r() * 2) },
      () => (r() < 0.1 ? "" : randomName(r, used)),
    );
    for (const o of outs) {
      if (o === "") continue;
      if (r() < 0.8) {
        types.set(o, { dtype: pick(r, DTYPES), shape: randomShape(r, true) });
      }
      values.push(o);
    }
    const attrs: Record<string, Attr> = {};
    for (let k = Math.floor(r() * 3); k > 0; k--) {
      attrs[pick(r, ["axis", "perm", "value", "to", "eps x"])] = randomAttr(r);
    }
    nodes.push(
      makeNode(
        pick(r, ["Add", "MatMul", "Gelu", "Custom_Op"]),
        randomName(r, used),
        ins,
        outs,
        attrs,
      ),
    );
  }
  const outputs = values.length > 0 ? [pick(r, values)] : [];
  return makeGraph({
    name: randomName(r, used),
    inputs,
    outputs,
    constants,
    nodes,
    types,
  });
}
