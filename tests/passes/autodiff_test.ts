import assert from "node:assert/strict";
import { execute } from "../../src/executor/execute.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import { verify } from "../../src/ir/verify.ts";
import { autodiff } from "../../src/passes/autodiff.ts";
import { AutodiffError } from "../../src/passes/gradients/mod.ts";
import { GOLDEN_DIR } from "./golden.ts";

/** w feeds the loss three times: twice through Mul, once through Add. */
const REUSED = `graph reused {
  input x: f64[3]
  const w: f64[3] = [0.5, -1.0, 2.0]
  const v: f64[3] = [1.0, 2.0, 3.0]
  %a: f64[3] = Mul(w, w) @/square
  %b: f64[3] = Add(a, w) @/add
  %c: f64[3] = Mul(b, x) @/scale
  %bad: f64[3] = Abs(x) @/abs_of_input
  %d: f64[3] = Add(c, bad) @/plus
  %loss: f64[] = ReduceSum(d) {keepdims=0} @/sum
  output loss
}`;

const X = {
  x: { dtype: "f64" as const, shape: [3], data: new Float64Array([1, 2, 3]) },
};

Deno.test("autodiff sums a value's uses: d/dw Σ(w²+w)·x = (2w+1)·x", () => {
  const graph = autodiff(parseGraph(REUSED), { loss: "loss", wrt: ["w"] });
  verify(graph, { requireStatic: true });
  assert.deepEqual(graph.outputs, ["loss", "w@grad"]);
  const sums = graph.nodes.filter((n) => n.name.startsWith("w@grad/Add"));
  assert.equal(sums.length, 2, "three contributions, two Add nodes");
  const grad = execute(graph, X).get("w@grad")!;
  assert.deepEqual(Array.from(grad.data), [2 * 1, -1 * 2, 5 * 3]);
});

Deno.test("autodiff leaves operators off the parameter path alone", () => {
  // Abs has no rule, but it reads only the input x.
  const graph = autodiff(parseGraph(REUSED), { loss: "loss", wrt: ["w"] });
  assert.ok(!graph.nodes.some((n) => n.name.startsWith("/abs_of_input@grad")));
});

Deno.test("autodiff names an operator without a rule on the path", () => {
  const text = REUSED.replace("Abs(x)", "Abs(w)");
  assert.throws(
    () => autodiff(parseGraph(text), { loss: "loss", wrt: ["w"] }),
    (e: unknown) =>
      e instanceof AutodiffError && e.nodeName === "/abs_of_input" &&
      /Abs has no gradient rule/.test(e.message),
  );
});

Deno.test("autodiff rejects a bad loss or parameter list", () => {
  const graph = parseGraph(REUSED);
  const cases: [string, string[], RegExp][] = [
    ["d", ["w"], /must be a float scalar/],
    ["loss", ["x"], /not a float constant/],
    ["loss", ["w", "w"], /repeated/],
    ["loss", ["v"], /does not depend on parameter 'v'/],
  ];
  for (const [loss, wrt, message] of cases) {
    assert.throws(() => autodiff(graph, { loss, wrt }), message);
  }
});

Deno.test("backward nodes carry their forward node's name and print back", () => {
  const before = Deno.readTextFileSync(`${GOLDEN_DIR}autodiff.before.ir`);
  const graph = autodiff(parseGraph(before), { loss: "loss", wrt: ["w"] });
  const backward = graph.nodes.slice(4);
  assert.ok(backward.length > 0);
  for (const node of backward) {
    assert.match(node.name, /^\/[a-z]+(\/\w+)?@grad\//);
  }
  assert.ok(graph.nodes.some((n) => n.name === "/dense/MatMul@grad/MatMul"));
  const text = printGraph(graph);
  assert.equal(printGraph(parseGraph(text)), text);
});

Deno.test("the backward graph of the golden example runs and matches a hand derivation", () => {
  const before = Deno.readTextFileSync(`${GOLDEN_DIR}autodiff.before.ir`);
  const graph = autodiff(parseGraph(before), { loss: "loss", wrt: ["b"] });
  const x = { dtype: "f32" as const, shape: [2, 4], data: new Float32Array(8) };
  const labels = {
    dtype: "i64" as const,
    shape: [2],
    data: new Float64Array([0, 2]),
  };
  const out = execute(graph, { x, labels });
  // x = 0: the pre-activation is b, so db = Gelu'(b)·(softmax(Gelu(b)) − onehot)/2 summed over the rows.
  const gelu = (v: number, d: number) => {
    const h = 1e-4;
    const f = (t: number) => 0.5 * t * (1 + erfApprox(t / Math.SQRT2));
    return d === 0 ? f(v) : (f(v + h) - f(v - h)) / (2 * h);
  };
  const b = [0.1, -0.2, 0.3];
  const acts = b.map((v) => gelu(v, 0));
  const z = acts.map(Math.exp).reduce((s, e) => s + e, 0);
  const p = acts.map((a) => Math.exp(a) / z);
  const expected = b.map((v, j) =>
    gelu(v, 1) * ((p[j] - (j === 0 ? 1 : 0)) + (p[j] - (j === 2 ? 1 : 0))) / 2
  );
  Array.from(out.get("b@grad")!.data).forEach((g, j) =>
    assert.ok(
      Math.abs(g - expected[j]) < 1e-5,
      `db[${j}] ${g} vs ${expected[j]}`,
    )
  );
});

/** Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), independent of src/ops/erf.ts. */
function erfApprox(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 +
            t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}
