/**
 * Test helpers for operator definitions: building nodes, running `infer`
 * and `evaluate` on a definition or a registered op name, and comparing
 * tensors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isFloat } from "../../src/ir/dtype.ts";
import {
  type Attrs,
  makeNode,
  type Node,
  typeOfTensor,
  type ValueType,
} from "../../src/ir/graph.ts";
import { type Tensor, toNumbers } from "../../src/ir/tensor.ts";
import { findOp } from "../../src/ops/mod.ts";
import type { OpDef } from "../../src/ops/op_def.ts";

/** An op definition, or the name of a registered one. */
export type OpRef = OpDef | string;

/** The definition `ref` stands for (fails the test if there is none). */
export function opDef(ref: OpRef): OpDef {
  if (typeof ref !== "string") return ref;
  const def = findOp(ref);
  assert.ok(def, `no registered op ${ref}`);
  return def;
}

/** The definition named `name` from an op list (fails the test if absent). */
export function defIn(ops: readonly OpDef[], name: string): OpDef {
  const def = ops.find((d) => d.name === name);
  assert.ok(def, `no OpDef named ${name}`);
  return def;
}

/** A node `op` named "n" with inputs "in0".. and outputs "out0"... */
export function nodeOf(
  op: string,
  attrs: Attrs = {},
  inputs = 1,
  outputs = 1,
): Node {
  const names = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  return makeNode(op, "n", names("in", inputs), names("out", outputs), attrs);
}

/** Runs `evaluate` on a node with as many inputs as given. */
export function evaluate(
  ref: OpRef,
  inputs: readonly (Tensor | undefined)[],
  attrs: Attrs = {},
  outputs = 1,
): Tensor[] {
  const def = opDef(ref);
  return def.evaluate(inputs, nodeOf(def.name, attrs, inputs.length, outputs));
}

/** Runs `infer` with the given input types and known values. */
export function infer(
  ref: OpRef,
  inputs: readonly (ValueType | undefined)[],
  values: readonly (Tensor | undefined)[] = [],
  attrs: Attrs = {},
  outputs = 1,
): ValueType[] {
  const def = opDef(ref);
  const node = nodeOf(def.name, attrs, inputs.length, outputs);
  return def.infer({ node, inputs, values });
}

/**
 * Runs a one-output op on `inputs` and returns its output, after checking
 * that `infer` (every input value known) gives the output's type.
 */
export function run(
  ref: OpRef,
  inputs: readonly (Tensor | undefined)[],
  attrs: Attrs = {},
): Tensor {
  const def = opDef(ref);
  const node = nodeOf(def.name, attrs, inputs.length);
  const [out] = def.evaluate(inputs, node);
  const [type] = def.infer({
    node,
    inputs: inputs.map((t) => t && typeOfTensor(t)),
    values: inputs,
  });
  assert.deepEqual(type, typeOfTensor(out), `${def.name}: infer vs evaluate`);
  return out;
}

/** A value type, for brevity. */
export function vt(
  dtype: ValueType["dtype"],
  shape: ValueType["shape"],
): ValueType {
  return { dtype, shape };
}

/**
 * Asserts two tensors agree: same dtype and shape; finite floats within
 * `atol + rtol·|expected|`, NaN matching NaN and infinities exactly;
 * everything else exactly.
 */
export function assertTensor(
  actual: Tensor,
  expected: Tensor,
  message = "",
  rtol = 1e-5,
  atol = 1e-6,
): void {
  assert.equal(actual.dtype, expected.dtype, `${message} dtype`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${message} shape`);
  const a = toNumbers(actual);
  const e = toNumbers(expected);
  if (!isFloat(expected.dtype)) {
    assert.deepEqual(a, e, `${message} values`);
    return;
  }
  e.forEach((want, i) => {
    const got = a[i];
    const ok = Number.isNaN(want)
      ? Number.isNaN(got)
      : !Number.isFinite(want)
      ? got === want
      : Math.abs(got - want) <= atol + rtol * Math.abs(want);
    assert.ok(ok, `${message} element ${i}: got ${got}, want ${want}`);
  });
}

/** Asserts that `fn` throws an OpError whose message matches `pattern`. */
export function assertOpError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(
      e instanceof Error && e.name === "OpError",
      `not an OpError: ${e}`,
    );
    assert.match(e.message, pattern);
    return true;
  });
}
