import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { verify } from "../../src/ir/verify.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import {
  type GradContext,
  gradientRules,
} from "../../src/passes/gradients/mod.ts";
import { RULE_CASES } from "./autodiff_cases.ts";
import { caseGraph, compareSamples, type RuleCase } from "./autodiff_fd.ts";

/**
 * f64 graphs: a central difference with step h errs by about h²·|f'''|
 * (1e-10 here) plus rounding ε·|L|/h (1e-11), so 1e-6 relative leaves a
 * wide margin while any wrong term in a rule is off by O(1).
 */
const TOLERANCE = 1e-6;

/** The worst relative error of autodiff against central differences. */
function worstError(c: RuleCase, rules = gradientRules()): number {
  const { graph, wrt } = caseGraph(c);
  const backward = autodiff(graph, { loss: "loss", wrt }, rules);
  verify(backward, { requireStatic: true });
  const grads = execute(backward, {});
  const picks = wrt.flatMap((param) =>
    Array.from(
      graph.constants.get(param)!.data,
      (_, index) => ({ param, index }),
    )
  );
  const gradients = new Map(wrt.map((p) => [p, grads.get(`${p}@grad`)!]));
  const samples = compareSamples(
    graph,
    new Map(),
    "loss",
    gradients,
    picks,
    c.step ?? 1e-5,
    1e-3,
  );
  return Math.max(...samples.map((s) => s.error));
}

for (const c of RULE_CASES) {
  Deno.test(`autodiff rule ${c.label} matches central differences`, () => {
    const error = worstError(c);
    assert.ok(
      error < TOLERANCE,
      `max relative error ${error.toExponential(2)}`,
    );
  });
}

Deno.test("every gradient rule has a finite-difference case", () => {
  const covered = new Set(RULE_CASES.map((c) => c.op));
  const missing = Object.keys(gradientRules()).filter((op) => !covered.has(op));
  assert.deepEqual(missing, []);
});

Deno.test("the check catches a wrong rule", () => {
  const wrong = { ...gradientRules(), Tanh: gradientRules().Identity };
  const tanh = RULE_CASES.find((c) => c.op === "Tanh")!;
  assert.ok(worstError(tanh, wrong) > 0.01);
});

Deno.test("every operator the issue lists for BERT has a rule", () => {
  const bertOps = (
    "MatMul Gemm Add Sub Mul Div Pow Sqrt Tanh Erf Gelu Relu LayerNorm " +
    "Softmax Reshape Transpose Unsqueeze Squeeze Gather Slice Concat Split " +
    "Cast Where Expand ReduceMean ReduceSum Dropout Identity Flatten"
  ).split(" ");
  const rules = gradientRules();
  assert.deepEqual(bertOps.filter((op) => rules[op] === undefined), []);
});

Deno.test("a rule whose gradient has the wrong shape is reported at its node", () => {
  const wrong = {
    ...gradientRules(),
    Expand: (ctx: GradContext) => [ctx.grad(), undefined],
  };
  const expand = RULE_CASES.find((c) => c.op === "Expand")!;
  assert.throws(
    () => worstError(expand, wrong),
    /Expand node 'Expand'.*not f64\[3,1\]/,
  );
});
