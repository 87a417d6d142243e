/**
 * Reads the IR text form (see `printer.ts`) back into a graph, so dumps can
 * be edited, diffed and reloaded. `print(parse(print(g))) === print(g)`.
 *
 * @module
 */

import { digestOf, setDigest } from "./digest.ts";
import { allocate, type DType, isDType } from "./dtype.ts";
import {
  type Attr,
  type Dim,
  type Graph,
  makeGraph,
  makeNode,
  type Node,
  type ValueType,
} from "./graph.ts";
import { type Tensor, tensor } from "./tensor.ts";

/** A syntax error in IR text, with its 1-based line. */
export class IrParseError extends Error {
  /** 1-based line number. */
  readonly line: number;

  /** Builds the error for `line`. */
  constructor(line: number, message: string) {
    super(`IR text line ${line}: ${message}`);
    this.name = "IrParseError";
    this.line = line;
  }
}

/** Options of {@linkcode parseGraph}. */
export interface ParseOptions {
  /**
   * Supplies the data of constants printed as a digest. Data whose digest
   * differs from the text is refused. Without it such constants are
   * placeholders that hold no data but print as before.
   */
  weights?: (name: string) => Tensor | undefined;
}

type Token = { kind: "word" | "string" | "punct"; text: string };

const PUNCT = new Set([
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ",",
  "=",
  ":",
  "%",
  "@",
  "?",
]);

function tokenize(line: string, lineNo: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === " " || c === "\t") {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      if (j >= line.length) {
        throw new IrParseError(lineNo, "unterminated string.");
      }
      tokens.push({ kind: "string", text: JSON.parse(line.slice(i, j + 1)) });
      i = j + 1;
    } else if (PUNCT.has(c)) {
      tokens.push({ kind: "punct", text: c });
      i++;
    } else {
      let j = i;
      while (
        j < line.length && !PUNCT.has(line[j]) && !' \t"'.includes(line[j])
      ) j++;
      tokens.push({ kind: "word", text: line.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

const FLOAT_WORD = /^(-?(\d+\.\d*|\d*\.\d+|\d+)(e[-+]?\d+)?|-?inf|nan|-0\.0)$/;
const INT_WORD = /^-?\d+$/;

/** A cursor over one line's tokens. */
class Cursor {
  private pos = 0;
  constructor(private readonly tokens: Token[], readonly line: number) {}

  fail(message: string): never {
    throw new IrParseError(this.line, message);
  }
  peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  next(): Token {
    const t = this.tokens[this.pos++];
    if (t === undefined) this.fail("unexpected end of line.");
    return t;
  }
  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }
  isPunct(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === "punct" && t.text === text;
  }
  expect(text: string): void {
    const t = this.next();
    if (t.kind !== "punct" || t.text !== text) {
      this.fail(`expected '${text}', found '${t.text}'.`);
    }
  }
  word(): string {
    const t = this.next();
    if (t.kind !== "word") this.fail(`expected a word, found '${t.text}'.`);
    return t.text;
  }
  name(): string {
    const t = this.next();
    if (t.kind === "punct") this.fail(`expected a name, found '${t.text}'.`);
    return t.text;
  }
  end(): void {
    if (!this.atEnd()) this.fail(`unexpected '${this.next().text}'.`);
  }
}

function parseNumber(c: Cursor, word: string): number {
  if (INT_WORD.test(word)) return Number(word);
  if (!FLOAT_WORD.test(word)) c.fail(`'${word}' is not a number.`);
  if (word === "inf") return Infinity;
  if (word === "-inf") return -Infinity;
  if (word === "nan") return NaN;
  return Number(word);
}

function parseDim(c: Cursor): Dim {
  const t = c.next();
  if (t.kind === "string") return t.text;
  if (t.kind === "word") return INT_WORD.test(t.text) ? Number(t.text) : t.text;
  return c.fail(`expected a dim, found '${t.text}'.`);
}

function parseType(c: Cursor): ValueType | undefined {
  if (c.isPunct("?")) {
    c.next();
    return undefined;
  }
  const dtype = c.word();
  if (!isDType(dtype)) c.fail(`unknown dtype '${dtype}'.`);
  c.expect("[");
  const shape: Dim[] = [];
  while (!c.isPunct("]")) {
    if (shape.length > 0) c.expect(",");
    shape.push(parseDim(c));
  }
  c.expect("]");
  return { dtype, shape };
}

function parseLiteral(
  c: Cursor,
  type: ValueType,
  name: string,
  options: ParseOptions,
): Tensor {
  const shape = type.shape.map((d) =>
    typeof d === "number" ? d : c.fail(`constant '${name}' has a symbolic dim.`)
  );
  if (c.isPunct("[")) {
    c.next();
    const values: number[] = [];
    while (!c.isPunct("]")) {
      if (values.length > 0) c.expect(",");
      values.push(parseNumber(c, c.word()));
    }
    c.expect("]");
    return tensor(type.dtype, shape, values);
  }
  if (c.word() !== "data") c.fail("expected '[' or 'data(' for a constant.");
  c.expect("(");
  if (c.word() !== "fnv1a") c.fail("expected 'fnv1a:' digest.");
  c.expect(":");
  const digest = c.word();
  c.expect(")");
  const supplied = options.weights?.(name);
  if (supplied !== undefined) {
    if (digestOf(supplied) !== digest) {
      c.fail(`data supplied for '${name}' does not match digest ${digest}.`);
    }
    return supplied;
  }
  const placeholder: Tensor = {
    dtype: type.dtype,
    shape,
    data: allocate(type.dtype as DType, 0),
  };
  setDigest(placeholder, digest);
  return placeholder;
}

function parseListAttr(c: Cursor): Attr {
  c.expect("[");
  const first = c.peek();
  const items: Token[] = [];
  while (!c.isPunct("]")) {
    if (items.length > 0) c.expect(",");
    items.push(c.next());
  }
  c.expect("]");
  if (first?.kind === "string") {
    return { kind: "strings", value: items.map((t) => t.text) };
  }
  const words = items.map((t) => t.text);
  if (words.every((w) => INT_WORD.test(w))) {
    return { kind: "ints", value: words.map(Number) };
  }
  return { kind: "floats", value: words.map((w) => parseNumber(c, w)) };
}

function parseAttr(c: Cursor, options: ParseOptions): Attr {
  const t = c.peek();
  if (t === undefined) return c.fail("missing attribute value.");
  if (t.kind === "string") return { kind: "string", value: c.next().text };
  if (t.kind === "punct" && t.text === "[") return parseListAttr(c);
  if (t.kind === "word" && ["ints", "floats", "strings"].includes(t.text)) {
    const kind = c.word() as "ints" | "floats" | "strings";
    c.expect("[");
    c.expect("]");
    return { kind, value: [] };
  }
  if (t.kind === "word" && isDType(t.text)) {
    const type = parseType(c)!;
    return {
      kind: "tensor",
      value: parseLiteral(c, type, "attribute", options),
    };
  }
  const word = c.word();
  if (INT_WORD.test(word)) return { kind: "int", value: Number(word) };
  return { kind: "float", value: parseNumber(c, word) };
}

function parseNode(
  c: Cursor,
  types: Map<string, ValueType>,
  options: ParseOptions,
): Node {
  const outputs: string[] = [];
  do {
    if (outputs.length > 0) c.expect(",");
    if (c.peek()?.text === "_" && c.peek()?.kind === "word") {
      c.next();
      outputs.push("");
      continue;
    }
    c.expect("%");
    const name = c.name();
    c.expect(":");
    const type = parseType(c);
    if (type !== undefined) types.set(name, type);
    outputs.push(name);
  } while (c.isPunct(","));
  c.expect("=");
  const op = c.word();
  c.expect("(");
  const inputs: string[] = [];
  while (!c.isPunct(")")) {
    if (inputs.length > 0) c.expect(",");
    const t = c.next();
    if (t.kind === "punct") {
      c.fail(`expected an input name, found '${t.text}'.`);
    }
    inputs.push(t.kind === "word" && t.text === "_" ? "" : t.text);
  }
  c.expect(")");
  const attrs: Record<string, Attr> = {};
  if (c.isPunct("{")) {
    c.next();
    while (!c.isPunct("}")) {
      if (Object.keys(attrs).length > 0) c.expect(",");
      const key = c.name();
      c.expect("=");
      attrs[key] = parseAttr(c, options);
    }
    c.expect("}");
  }
  c.expect("@");
  const name = c.name();
  c.end();
  return makeNode(op, name, inputs, outputs, attrs);
}

/** Parses IR text into a graph; throws {@linkcode IrParseError}. */
export function parseGraph(text: string, options: ParseOptions = {}): Graph {
  const lines = text.split("\n");
  let graphName: string | undefined;
  let closed = false;
  const inputs: string[] = [];
  const outputs: string[] = [];
  const constants = new Map<string, Tensor>();
  const types = new Map<string, ValueType>();
  const nodes: Node[] = [];
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const tokens = tokenize(raw, lineNo);
    if (tokens.length === 0) return;
    const c = new Cursor(tokens, lineNo);
    if (closed) c.fail("text after the closing '}'.");
    const head = tokens[0];
    if (graphName === undefined) {
      if (head.text !== "graph") c.fail("expected 'graph NAME {'.");
      c.next();
      graphName = c.name();
      c.expect("{");
      c.end();
      return;
    }
    if (head.kind === "punct" && head.text === "}") {
      c.next();
      c.end();
      closed = true;
      return;
    }
    if (head.kind === "word" && head.text === "input") {
      c.next();
      const name = c.name();
      c.expect(":");
      const type = parseType(c);
      c.end();
      if (type !== undefined) types.set(name, type);
      inputs.push(name);
    } else if (head.kind === "word" && head.text === "output") {
      c.next();
      outputs.push(c.name());
      c.end();
    } else if (head.kind === "word" && head.text === "const") {
      c.next();
      const name = c.name();
      c.expect(":");
      const type = parseType(c) ?? c.fail("a constant needs a type.");
      c.expect("=");
      constants.set(name, parseLiteral(c, type, name, options));
      c.end();
    } else {
      nodes.push(parseNode(c, types, options));
    }
  });
  if (graphName === undefined) throw new IrParseError(1, "empty IR text.");
  if (!closed) throw new IrParseError(lines.length, "missing closing '}'.");
  return makeGraph({
    name: graphName,
    inputs,
    outputs,
    constants,
    nodes,
    types,
  });
}
