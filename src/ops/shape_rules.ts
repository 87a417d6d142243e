/**
 * Shape rules of the shape-manipulating operators, shared by their type
 * inference (possibly symbolic dims) and their evaluation (numbers).
 *
 * @module
 */

import { type Dim, intAttr, intsAttr, type Node } from "../ir/graph.ts";
import { broadcastShapes } from "./broadcast.ts";
import { freshDim, productDim, unifyDim } from "./dims.ts";
import { normalizeAxis, OpError } from "./op_def.ts";

/**
 * `Π numer / Π denom` for the dim Reshape infers from -1, or `undefined`
 * when it is not a number or a lone symbol. Symbols common to both cancel,
 * so [b, 12, 64] → [-1, 768] infers `b`.
 */
function quotientDim(
  node: Node,
  numer: readonly Dim[],
  denom: readonly Dim[],
): Dim | undefined {
  const symbols: string[] = [];
  let n = 1;
  for (const d of numer) {
    if (typeof d === "number") n *= d;
    else symbols.push(d);
  }
  let m = 1;
  for (const d of denom) {
    if (typeof d === "number") m *= d;
    else {
      const at = symbols.indexOf(d);
      if (at < 0) return undefined;
      symbols.splice(at, 1);
    }
  }
  if (m === 0) throw new OpError(node, "cannot infer -1 next to a 0 dim.");
  if (symbols.length === 0) {
    if (n % m !== 0) {
      throw new OpError(node, `cannot reshape ${n} elements into ×${m}.`);
    }
    return n / m;
  }
  return symbols.length === 1 && n === m ? symbols[0] : undefined;
}

/** Reshape's output dims for a known target shape. */
export function reshapeDims(
  node: Node,
  input: readonly Dim[],
  target: readonly number[],
): Dim[] {
  const allowZero = intAttr(node.attrs, "allowzero", 0) !== 0;
  if (allowZero && target.includes(0) && target.includes(-1)) {
    throw new OpError(node, "allowzero=1 forbids 0 and -1 together.");
  }
  const out: Dim[] = [];
  let inferred = -1;
  target.forEach((v, i) => {
    if (v === -1) {
      if (inferred >= 0) throw new OpError(node, "more than one -1 in shape.");
      inferred = i;
      out.push(-1);
    } else if (v === 0 && !allowZero) {
      if (i >= input.length) {
        throw new OpError(node, `shape[${i}] = 0 copies a dim input lacks.`);
      }
      out.push(input[i]);
    } else if (v < 0) {
      throw new OpError(node, `invalid shape value ${v}.`);
    } else out.push(v);
  });
  if (inferred >= 0) {
    const rest = out.filter((_, i) => i !== inferred);
    out[inferred] = quotientDim(node, input, rest) ??
      freshDim(node, inferred);
  } else {
    const a = productDim(input, "?");
    const b = productDim(out, "?");
    if (typeof a === "number" && typeof b === "number" && a !== b) {
      throw new OpError(node, `cannot reshape [${input}] into [${out}].`);
    }
  }
  return out;
}

/** Transpose's permutation: the attribute, validated, or reversed axes. */
export function permutation(node: Node, rank: number): number[] {
  const perm = intsAttr(node.attrs, "perm");
  if (perm === undefined) {
    return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  }
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new OpError(node, `perm [${perm}] is not a permutation of ${rank}.`);
  }
  return [...perm];
}

/** Normalised, duplicate-free axes. */
function uniqueAxes(
  node: Node,
  axes: readonly number[],
  rank: number,
): number[] {
  const out = axes.map((a) => normalizeAxis(node, a, rank));
  if (new Set(out).size !== out.length) {
    throw new OpError(node, `duplicate axes [${axes}].`);
  }
  return out;
}

/** Unsqueeze's output dims for known axes. */
export function unsqueezeDims(
  node: Node,
  input: readonly Dim[],
  axes: number[],
): Dim[] {
  const rank = input.length + axes.length;
  const at = new Set(uniqueAxes(node, axes, rank));
  const out: Dim[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : input[next++]);
  return out;
}

/**
 * Squeeze's output dims. Without axes every dim equal to 1 goes; a symbolic
 * dim is assumed not to be 1, so it stays.
 */
export function squeezeDims(
  node: Node,
  input: readonly Dim[],
  axes: number[] | undefined,
): Dim[] {
  if (axes === undefined) return input.filter((d) => d !== 1);
  const drop = new Set(uniqueAxes(node, axes, input.length));
  for (const a of drop) {
    if (typeof input[a] === "number" && input[a] !== 1) {
      throw new OpError(node, `cannot squeeze axis ${a} of size ${input[a]}.`);
    }
  }
  return input.filter((_, i) => !drop.has(i));
}

/** Concat's output dims, checking that the inputs agree off the axis. */
export function concatDims(
  node: Node,
  shapes: readonly (readonly Dim[])[],
): Dim[] {
  const rank = shapes[0].length;
  const axis = normalizeAxis(node, concatAxis(node), rank);
  const out = [...shapes[0]];
  const along: Dim[] = [shapes[0][axis]];
  for (const s of shapes.slice(1)) {
    if (s.length !== rank) {
      throw new OpError(node, `inputs have ranks ${rank} and ${s.length}.`);
    }
    s.forEach((d, i) => {
      if (i === axis) along.push(d);
      else out[i] = unifyDim(node, out[i], d, `inputs differ on dim ${i}`);
    });
  }
  const symbols = along.filter((d) => typeof d === "string");
  const total = along.reduce<number>(
    (n, d) => n + (typeof d === "number" ? d : 0),
    0,
  );
  out[axis] = symbols.length === 0
    ? total
    : symbols.length === 1 && total === 0
    ? symbols[0]
    : freshDim(node, axis);
  return out;
}

/** Concat's axis attribute, which has no default. */
export function concatAxis(node: Node): number {
  if (node.attrs.axis === undefined) {
    throw new OpError(node, "attribute 'axis' is required.");
  }
  return intAttr(node.attrs, "axis", 0);
}

/** Flatten's split point, in [0, rank]. */
export function flattenAxis(node: Node, rank: number): number {
  const axis = intAttr(node.attrs, "axis", 1);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a > rank) {
    throw new OpError(node, `axis ${axis} is out of range for rank ${rank}.`);
  }
  return a;
}

/** The [start, end) range of dims Shape reports, clamped to [0, rank]. */
export function shapeRange(node: Node, rank: number): [number, number] {
  const clamp = (v: number) =>
    Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(intAttr(node.attrs, "start", 0));
  const end = clamp(intAttr(node.attrs, "end", rank));
  return [start, Math.max(start, end)];
}

/** Expand's output dims, or an error when the shapes do not broadcast. */
export function expandDims(
  node: Node,
  input: readonly Dim[],
  target: readonly Dim[],
): Dim[] {
  const out = broadcastShapes([input, target]);
  if (out === undefined) {
    throw new OpError(node, `cannot expand [${input}] to [${target}].`);
  }
  return out;
}
