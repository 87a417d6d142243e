/**
 * Gradient rules of the matrix products, MatMul and Gemm.
 *
 * @module
 */

import { floatAttr, intAttr } from "../../ir/graph.ts";
import { type GradContext, reshapeTo, type RuleTable, sumTo } from "./rule.ts";

/** `x` with its last two axes swapped. */
function swapLast(ctx: GradContext, x: string): string {
  const rank = ctx.shape(x).length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return ctx.op("Transpose", [x], { perm: { kind: "ints", value: perm } });
}

/** The product of some dims. */
function product(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

/**
 * Y = A·B (numpy matmul); dA = sumTo(dY·Bᵀ), dB = sumTo(Aᵀ·dY), where a
 * 1-D A is a row [1, K], a 1-D B a column [K, 1] and sumTo folds broadcast
 * batch dims. For a 2-D B (a weight) the batch dims of A and dY fold into
 * rows first, so dW is one [K, M']·[M', N] product.
 */
function matmulRule(ctx: GradContext): (string | undefined)[] {
  const [a, b] = ctx.node.inputs;
  const sa = ctx.shape(a);
  const sb = ctx.shape(b);
  const a2 = sa.length === 1 ? [1, sa[0]] : sa;
  const b2 = sb.length === 1 ? [sb[0], 1] : sb;
  const m = a2[a2.length - 2];
  const n = b2[b2.length - 1];
  const batch = ctx.shape(ctx.node.outputs[0]).slice(
    0,
    ctx.shape(ctx.node.outputs[0]).length - (sa.length === 1 ? 0 : 1) -
      (sb.length === 1 ? 0 : 1),
  );
  const dy2 = () => reshapeTo(ctx, ctx.grad(), [...batch, m, n]);
  const da = ctx.needs(0)
    ? reshapeTo(
      ctx,
      sumTo(
        ctx,
        ctx.op("MatMul", [dy2(), swapLast(ctx, reshapeTo(ctx, b, b2))]),
        a2,
      ),
      sa,
    )
    : undefined;
  let db: string | undefined;
  if (ctx.needs(1) && sb.length === 2) {
    const k = a2[a2.length - 1];
    const rows = product(a2.slice(0, -1));
    const aFlat = reshapeTo(ctx, a, [rows, k]);
    const dyFlat = reshapeTo(ctx, dy2(), [rows, n]);
    db = ctx.op("MatMul", [swapLast(ctx, aFlat), dyFlat]);
  } else if (ctx.needs(1)) {
    const aT = swapLast(ctx, reshapeTo(ctx, a, a2));
    db = reshapeTo(ctx, sumTo(ctx, ctx.op("MatMul", [aT, dy2()]), b2), sb);
  }
  return [da, db];
}

/** An int attribute. */
function flag(value: number) {
  return { kind: "int" as const, value };
}

/**
 * Y = α·op(A)·op(B) + β·C, op a transpose where transA/transB;
 * d op(A) = α·dY·op(B)ᵀ, d op(B) = α·op(A)ᵀ·dY (each transposed back
 * where its operand was), dC = sumTo(β·dY). Each product is itself a Gemm.
 */
function gemmRule(ctx: GradContext): (string | undefined)[] {
  const [a, b, c] = ctx.node.inputs;
  const ta = intAttr(ctx.node.attrs, "transA", 0) !== 0 ? 1 : 0;
  const tb = intAttr(ctx.node.attrs, "transB", 0) !== 0 ? 1 : 0;
  const alpha = floatAttr(ctx.node.attrs, "alpha", 1);
  const beta = floatAttr(ctx.node.attrs, "beta", 1);
  const gemm = (x: string, y: string, transA: number, transB: number) =>
    ctx.op("Gemm", [x, y], {
      alpha: { kind: "float", value: alpha },
      transA: flag(transA),
      transB: flag(transB),
    });
  const dy = () => ctx.grad();
  const da = !ctx.needs(0)
    ? undefined
    : ta === 0
    ? gemm(dy(), b, 0, 1 - tb)
    : gemm(b, dy(), tb, 1);
  const db = !ctx.needs(1)
    ? undefined
    : tb === 0
    ? gemm(a, dy(), 1 - ta, 0)
    : gemm(dy(), a, 1, ta);
  let dc: string | undefined;
  if (c !== undefined && c !== "" && ctx.needs(2)) {
    const scaled = beta === 1
      ? dy()
      : ctx.op("Mul", [dy(), ctx.scalar(beta, dy())]);
    dc = sumTo(ctx, scaled, ctx.shape(c));
  }
  return [da, db, dc];
}

/** Matrix-product gradient rules by operator. */
export const matmulRules: RuleTable = {
  MatMul: matmulRule,
  Gemm: gemmRule,
};
