/**
 * `autodiff`: appends the backward graph of a scalar loss to a forward
 * graph with static shapes, one gradient rule per operator
 * (`gradients/`, see {@linkcode gradientRules}).
 *
 * Conventions the optimizer relies on: the gradient of value `v` is the
 * value `${v}@grad`; the graph outputs gain `loss` (unless already there)
 * and `${p}@grad` for every parameter `p` of `wrt`, in that order. A value
 * used several times gets the sum of its uses' gradients (Add nodes).
 * Backward nodes are named after their forward node
 * (`/bert/…/output/dense/MatMul@grad/MatMul`) so a dump stays greppable.
 *
 * Before:
 * ```text
 * %h: f32[2,3] = MatMul(x, w) @dense
 * %loss: f32[] = SoftmaxCrossEntropy(h, labels) @loss
 * ```
 * After (wrt = [w]; the seed `loss@grad` is the constant 1):
 * ```text
 * %"h@grad": f32[2,3] = SoftmaxCrossEntropyGrad("loss@grad", h, labels) @"loss@grad/SoftmaxCrossEntropyGrad"
 * %"dense@grad/Transpose": f32[4,2] = Transpose(x) {perm=[1, 0]} @"dense@grad/Transpose"
 * %"w@grad": f32[4,3] = MatMul("dense@grad/Transpose", "h@grad") @"dense@grad/MatMul"
 * output loss
 * output "w@grad"
 * ```
 *
 * @module
 */

import { isFloat } from "../ir/dtype.ts";
import { type Graph, makeGraph, type Node } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { BackwardBuilder } from "./gradients/builder.ts";
import {
  AutodiffError,
  type GradContext,
  gradientRules,
  type RuleTable,
} from "./gradients/mod.ts";
import type { Pass } from "./pass.ts";

/** What to differentiate. */
export interface AutodiffOptions {
  /** The scalar value to differentiate. */
  readonly loss: string;
  /** The parameters (float constants) to differentiate with respect to. */
  readonly wrt: readonly string[];
}

/** Checks the loss and the parameters before any work. */
function checkOptions(
  graph: Graph,
  b: BackwardBuilder,
  options: AutodiffOptions,
): void {
  const type = b.typeOf(options.loss);
  if (type === undefined) {
    throw new AutodiffError(`Loss '${options.loss}' is not a typed value.`);
  }
  if (!isFloat(type.dtype) || type.shape.some((d) => d !== 1)) {
    throw new AutodiffError(
      `Loss '${options.loss}' must be a float scalar, got ${type.dtype}[${type.shape}].`,
    );
  }
  const seen = new Set<string>();
  for (const p of options.wrt) {
    const t = graph.constants.get(p);
    if (t === undefined || !isFloat(t.dtype)) {
      throw new AutodiffError(
        `Parameter '${p}' is not a float constant of the graph.`,
      );
    }
    if (seen.has(p)) throw new AutodiffError(`Parameter '${p}' is repeated.`);
    seen.add(p);
  }
}

/** The values that depend on a parameter through float values. */
function activeValues(
  graph: Graph,
  b: BackwardBuilder,
  wrt: readonly string[],
): Set<string> {
  const active = new Set(wrt);
  for (const node of graph.nodes) {
    if (!node.inputs.some((i) => active.has(i))) continue;
    for (const o of node.outputs) {
      const type = b.typeOf(o);
      if (o !== "" && type !== undefined && isFloat(type.dtype)) active.add(o);
    }
  }
  return active;
}

/** The backward sweep: gradient contributions per value, then their sums. */
class Sweep {
  private readonly partials = new Map<string, string[]>();

  constructor(
    readonly b: BackwardBuilder,
    readonly active: ReadonlySet<string>,
    readonly rules: RuleTable,
  ) {}

  /** Records `g` as one contribution to the gradient of `value`. */
  contribute(value: string, g: string): void {
    const list = this.partials.get(value) ?? [];
    list.push(g);
    this.partials.set(value, list);
  }

  /**
   * The gradient of `value`, its contributions summed, named
   * `${value}@grad` where it was computed here (else an earlier gradient it
   * equals), or `undefined` when nothing contributed.
   */
  total(value: string): string | undefined {
    const parts = this.partials.get(value);
    if (parts === undefined) return undefined;
    const target = `${value}@grad`;
    if (parts.length === 1) return this.b.claim(parts[0], target);
    let sum = parts[0];
    for (const p of parts.slice(1)) {
      sum = this.b.emit(target, "Add", [sum, p])[0];
    }
    return this.b.claim(sum, target);
  }

  /** Differentiates one forward node, when the loss depends on its outputs. */
  visit(node: Node): void {
    const dys = node.outputs.map((o) => o === "" ? undefined : this.total(o));
    if (dys.every((d) => d === undefined)) return;
    const rule = this.rules[node.op];
    if (rule === undefined) {
      throw new AutodiffError(
        `operator ${node.op} has no gradient rule, and this node lies between a parameter and the loss.`,
        node,
      );
    }
    const needs = (i: number) => {
      const input = node.inputs[i];
      return input !== undefined && input !== "" && this.active.has(input);
    };
    const grads = rule(this.context(node, dys, needs));
    node.inputs.forEach((input, i) => {
      if (!needs(i)) return;
      const g = grads[i];
      if (g === undefined) {
        throw new AutodiffError(
          `the rule gave no gradient for input ${i} ('${input}').`,
          node,
        );
      }
      // A rule's slip surfaces here, at its node, not in a later Add.
      const want = this.b.typeOf(input)!;
      const got = this.b.typeOf(g)!;
      if (
        got.dtype !== want.dtype ||
        this.b.shapeOf(g).join() !== this.b.shapeOf(input).join()
      ) {
        throw new AutodiffError(
          `the gradient of input ${i} is ${got.dtype}[${got.shape}], not ${want.dtype}[${want.shape}].`,
          node,
        );
      }
      this.contribute(input, g);
    });
  }

  /** What the rule of `node` sees. */
  private context(
    node: Node,
    dys: readonly (string | undefined)[],
    needs: (i: number) => boolean,
  ): GradContext {
    const b = this.b;
    const fail = (message: string): never => {
      throw new AutodiffError(message, node);
    };
    const type = (v: string) =>
      b.typeOf(v) ?? fail(`value '${v}' has no type.`);
    const emit: GradContext["emit"] = (op, inputs, attrs = {}, outputs = 1) =>
      b.emit(`${node.name}@grad`, op, inputs, attrs, outputs);
    return {
      node,
      dy: (k = 0) => dys[k],
      grad: (k = 0) => dys[k] ?? fail(`output ${k} has no gradient.`),
      needs,
      type,
      shape: (v) => b.shapeOf(v),
      constantValue: (v) => b.constantValue(v),
      emit,
      op: (op, inputs, attrs) => emit(op, inputs, attrs, 1)[0],
      ints: (values) => b.constant(tensor("i64", [values.length], values)),
      scalar: (value, like) =>
        b.constant(tensor(type(like).dtype, [], [value])),
      constant: (t: Tensor) => b.constant(t),
      fail,
    };
  }
}

/**
 * Appends to `graph` the gradient of `options.loss` with respect to each
 * parameter of `options.wrt`; see the module doc for the conventions.
 *
 * @throws {AutodiffError} for a non-scalar loss, a parameter that is not a
 * float constant or that the loss does not depend on, or a node between a
 * parameter and the loss whose operator has no rule (naming the node).
 */
export function autodiff(
  graph: Graph,
  options: AutodiffOptions,
  rules: RuleTable = gradientRules(),
): Graph {
  const b = new BackwardBuilder(graph);
  checkOptions(graph, b, options);
  const sweep = new Sweep(b, activeValues(graph, b, options.wrt), rules);
  const lossType = b.typeOf(options.loss)!;
  const seed = b.constant(
    tensor(lossType.dtype, lossType.shape as number[], [1]),
    `${options.loss}@grad`,
  );
  sweep.contribute(options.loss, seed);
  for (let n = graph.nodes.length - 1; n >= 0; n--) sweep.visit(graph.nodes[n]);
  for (const p of options.wrt) {
    const g = sweep.total(p);
    if (g === undefined) {
      throw new AutodiffError(
        `The loss '${options.loss}' does not depend on parameter '${p}'; drop it from wrt.`,
      );
    }
    if (g !== `${p}@grad`) {
      b.claim(b.emit(`${p}@grad`, "Identity", [g])[0], `${p}@grad`);
    }
  }
  const outputs = [
    ...graph.outputs,
    ...(graph.outputs.includes(options.loss) ? [] : [options.loss]),
    ...options.wrt.map((p) => `${p}@grad`),
  ];
  return makeGraph({
    ...graph,
    outputs,
    nodes: [...graph.nodes, ...b.nodes()],
    constants: b.constants,
    types: b.types(),
  });
}

/** The `autodiff` pass for one loss and parameter list. */
export function autodiffPass(options: AutodiffOptions): Pass {
  return {
    name: "autodiff",
    summary: "append the backward graph: loss and parameter gradients",
    requires: ["types"],
    provides: ["gradients"],
    run: (graph) => autodiff(graph, options),
  };
}
