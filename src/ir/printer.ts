/**
 * The IR's text form — the user's window into the compiler.
 *
 * ```text
 * graph "bert" {
 *   input input_ids: i64[8,128]
 *   const "/Constant_output_0": i64[1] = [-1]
 *   const bert.embeddings.word_embeddings.weight: f32[30522,256] = data(fnv1a:1c9d02f3)
 *   %"/embeddings/Gather_output_0": f32[8,128,256] = Gather(bert.embeddings.word_embeddings.weight, input_ids) {axis=0} @"/embeddings/Gather"
 *   output last_hidden_state
 * }
 * ```
 *
 * One node a line with its ONNX name kept, so a layer can be found with grep.
 * Constants up to {@linkcode INLINE_LIMIT} elements print their values;
 * larger ones print a digest. {@linkcode parseGraph} reads this text back.
 *
 * @module
 */

import { digestOf } from "./digest.ts";
import type { Attr, Dim, Graph, Node, ValueType } from "./graph.ts";
import type { Tensor } from "./tensor.ts";

/** Constants with at most this many elements print their values. */
export const INLINE_LIMIT = 16;

const BARE_NAME = /^[A-Za-z_\/][A-Za-z0-9_.\/\-]*$/;

/** A name as it prints: bare when unambiguous, JSON-quoted otherwise. */
export function printName(name: string): string {
  return BARE_NAME.test(name) && name !== "_" ? name : JSON.stringify(name);
}

/** A dim: a number, or a symbol printed as a name. */
function printDim(d: Dim): string {
  return typeof d === "number" ? String(d) : printName(d);
}

/** A value type, e.g. `f32[8,128,256]`, or `?` when unknown. */
export function printType(type: ValueType | undefined): string {
  if (type === undefined) return "?";
  return `${type.dtype}[${type.shape.map(printDim).join(",")}]`;
}

/** The shortest decimal that reads back as the same f64 (or f32) value. */
export function printFloat(x: number, single = false): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Object.is(x, -0)) return "-0.0";
  let s = String(x);
  if (single) {
    for (let p = 1; p <= 9; p++) {
      const candidate = x.toPrecision(p);
      if (Math.fround(Number(candidate)) === x) {
        s = String(Number(candidate));
        break;
      }
    }
  }
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function printNumber(x: number, float: boolean, single: boolean): string {
  return float ? printFloat(x, single) : String(x);
}

function printTensorValues(t: Tensor): string {
  const float = t.dtype === "f32" || t.dtype === "f16" || t.dtype === "f64";
  const single = t.dtype !== "f64";
  const parts: string[] = [];
  for (let i = 0; i < t.data.length; i++) {
    parts.push(printNumber(t.data[i], float, single));
  }
  return `[${parts.join(", ")}]`;
}

/** A constant's literal: its values, or a digest when large. */
export function printLiteral(t: Tensor): string {
  if (t.data.length <= INLINE_LIMIT && t.data.length === sizeOfShape(t)) {
    return printTensorValues(t);
  }
  return `data(fnv1a:${digestOf(t)})`;
}

function sizeOfShape(t: Tensor): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

/** An attribute value. Empty lists carry their kind so they read back. */
export function printAttr(a: Attr): string {
  switch (a.kind) {
    case "int":
      return String(a.value);
    case "float":
      return printFloat(a.value, true);
    case "string":
      return JSON.stringify(a.value);
    case "ints":
      return a.value.length === 0 ? "ints[]" : `[${a.value.join(", ")}]`;
    case "floats":
      return a.value.length === 0
        ? "floats[]"
        : `[${a.value.map((v) => printFloat(v, true)).join(", ")}]`;
    case "strings":
      return a.value.length === 0
        ? "strings[]"
        : `[${a.value.map((v) => JSON.stringify(v)).join(", ")}]`;
    case "tensor":
      return `${printType(a.value)} ${printLiteral(a.value)}`;
  }
}

/** One node line (without indentation). */
export function printNode(node: Node, graph: Graph): string {
  const outs = node.outputs
    .map((o) =>
      o === "" ? "_" : `%${printName(o)}: ${printType(graph.types.get(o))}`
    )
    .join(", ");
  const ins = node.inputs.map((i) => (i === "" ? "_" : printName(i))).join(
    ", ",
  );
  const keys = Object.keys(node.attrs).sort();
  const attrs = keys.length === 0
    ? ""
    : ` {${
      keys.map((k) => `${printName(k)}=${printAttr(node.attrs[k])}`).join(", ")
    }}`;
  return `${outs} = ${node.op}(${ins})${attrs} @${printName(node.name)}`;
}

/** The whole graph as text; {@linkcode parseGraph} reads it back. */
export function printGraph(graph: Graph): string {
  const lines = [`graph ${printName(graph.name)} {`];
  for (const name of graph.inputs) {
    lines.push(
      `  input ${printName(name)}: ${printType(graph.types.get(name))}`,
    );
  }
  for (const [name, t] of graph.constants) {
    lines.push(
      `  const ${printName(name)}: ${printType(t)} = ${printLiteral(t)}`,
    );
  }
  for (const node of graph.nodes) lines.push(`  ${printNode(node, graph)}`);
  for (const name of graph.outputs) lines.push(`  output ${printName(name)}`);
  lines.push("}");
  return lines.join("\n") + "\n";
}
