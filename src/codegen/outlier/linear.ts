/**
 * The integer linear layer Y = X·W with the three activation treatments of
 * NUMERICS.md §3, on the GEMM kernels' public API — forward, and the weight
 * gradient that reuses the saved forward split:
 *
 * ```
 * untreated  Y  = 2^(ex+ew−14)·(Qx @ Qw)
 * split      Y  = 2^(e_in+ew−14)·(Q_in @ Qw) + 2^(e_out−11+ew−7)·(Q_out[:,C] @ Qw[C,:])
 * tile       Y  = 2^(e_A+ew−14)·(Q_A @ Qw)   + 2γ·2^(ew−7)·(k[:,C] @ Qw[C,:])
 * gradWeight dW = 2^(e·+eg−14)·(Q·ᵀ @ Qg)     + rows C of dW += scale·(S[:,C]ᵀ @ Qg)
 * ```
 *
 * Each product is exact in int32 (checked against the operands' actual
 * maxima) and scaled once in the GEMM epilogue; the parts add in f32.
 * int8 side streams run on the s8s8 kernel, int12 / int16 ones on s16s8.
 * W and dY are per-tensor BFP8.
 * @module
 */

import {
  type BfpTensor,
  gemmEpilogueScale,
  referenceQuantise,
} from "../bfp/mod.ts";
import {
  GemmKernel,
  type GemmParams,
  type MatrixView,
  referenceGemmIntToF32,
  rowMajor,
  selectS8Variant,
  transposed,
} from "../gemm/mod.ts";
import { OutlierError } from "./params.ts";
import type { SplitTensor, TileTensor } from "./reference.ts";

/** How the activation was treated. */
export type OutlierInput =
  | { method: "untreated"; x: BfpTensor }
  | { method: "split"; x: SplitTensor }
  | { method: "tile"; x: TileTensor };

/** One scaled integer GEMM; `rows` scatters its output rows into the result. */
export interface ScaledProduct {
  /** int8 or int16 operand. */
  readonly a: MatrixView<Int8Array | Int16Array>;
  /** int8 operand. */
  readonly b: MatrixView<Int8Array>;
  /** Epilogue scale (f32). */
  readonly scale: number;
  /** Result row of each output row; absent: the identity. */
  readonly rows?: Int32Array;
}

/** A linear layer's products and the shape of their sum. */
export interface ProductSum {
  /** Output rows. */
  readonly rows: number;
  /** Output columns. */
  readonly cols: number;
  /** Products, the first dense over the whole output. */
  readonly products: readonly ScaledProduct[];
}

/** Per-tensor BFP8 of W (or dY), the operand every treatment shares. */
export function quantiseWeight(
  w: Float32Array,
  rows: number,
  cols: number,
): BfpTensor {
  return referenceQuantise(w, rows, cols, {
    bits: 8,
    rounding: "rne",
    granularity: "tensor",
  });
}

/** Qw[C, :] — the rows of W that meet the gathered outlier columns. */
export function gatherWeightRows(w: BfpTensor, columns: Int32Array): Int8Array {
  const out = new Int8Array(columns.length * w.cols);
  columns.forEach((c, r) => {
    out.set(w.q.subarray(c * w.cols, (c + 1) * w.cols), r * w.cols);
  });
  return out;
}

function perTensor8(t: BfpTensor, what: string): number {
  if (t.params.bits !== 8 || t.params.granularity !== "tensor") {
    throw new OutlierError(`The ${what} must be per-tensor BFP8.`);
  }
  return t.exponents[0];
}

/** The main stream, the side stream and its scale factor for an input. */
function streams(input: OutlierInput) {
  switch (input.method) {
    case "untreated":
      return { main: input.x, side: undefined };
    case "split": {
      const { inliers, outliers, columns } = input.x;
      const e = outliers.exponents[0];
      return {
        main: inliers,
        side: {
          q: outliers.q,
          columns,
          scaleWith: (eOther: number) => gemmEpilogueScale(e, eOther, 12, 8),
        },
      };
    }
    case "tile": {
      const { a, k, columns, gamma } = input.x;
      return {
        main: a,
        side: {
          q: k,
          columns,
          scaleWith: (eOther: number) => 2 * gamma * 2 ** (eOther - 7),
        },
      };
    }
  }
}

/** The products of Y = X·W. */
export function forwardProducts(input: OutlierInput, w: BfpTensor): ProductSum {
  const ew = perTensor8(w, "weight");
  const { main, side } = streams(input);
  const m = main.rows;
  const products: ScaledProduct[] = [{
    a: rowMajor(main.q, m, main.cols),
    b: rowMajor(w.q as Int8Array, w.rows, w.cols),
    scale: gemmEpilogueScale(perTensor8(main, "activation stream"), ew),
  }];
  if (side && side.columns.length > 0) {
    products.push({
      a: rowMajor(side.q, m, side.columns.length),
      b: rowMajor(
        gatherWeightRows(w, side.columns),
        side.columns.length,
        w.cols,
      ),
      scale: side.scaleWith(ew),
    });
  }
  return { rows: m, cols: w.cols, products };
}

/** The products of dW = Xᵀ·dY, reusing the forward streams of X. */
export function gradWeightProducts(
  input: OutlierInput,
  g: BfpTensor,
): ProductSum {
  const eg = perTensor8(g, "output gradient");
  const { main, side } = streams(input);
  const m = main.rows;
  const dy = rowMajor(g.q as Int8Array, g.rows, g.cols);
  const products: ScaledProduct[] = [{
    a: transposed(rowMajor(main.q, m, main.cols)),
    b: dy,
    scale: gemmEpilogueScale(perTensor8(main, "activation stream"), eg),
  }];
  if (side && side.columns.length > 0) {
    products.push({
      a: transposed(rowMajor(side.q, m, side.columns.length)),
      b: dy,
      scale: side.scaleWith(eg),
      rows: side.columns,
    });
  }
  return { rows: main.cols, cols: g.cols, products };
}

/** Throws unless |Σ a·b| over the reduction surely fits in int32. */
function checkInt32(p: ScaledProduct): void {
  const maxOf = (d: ArrayLike<number>) => {
    let m = 0;
    for (let i = 0; i < d.length; i++) m = Math.max(m, Math.abs(d[i]));
    return m;
  };
  const bound = p.a.cols * maxOf(p.a.data) * maxOf(p.b.data);
  if (bound >= 2 ** 31) {
    throw new OutlierError(
      `An integer product over ${p.a.cols} terms could reach ${bound}, beyond int32; split the reduction.`,
    );
  }
}

/** Runs each product with `run` and sums them into the output (f32 adds). */
export function sumProducts(
  sum: ProductSum,
  run: (p: ScaledProduct) => Float32Array,
): Float32Array {
  const [first, ...rest] = sum.products;
  checkInt32(first);
  const out = run(first);
  for (const p of rest) {
    checkInt32(p);
    const y = run(p);
    for (let r = 0; r < p.a.rows; r++) {
      const o = (p.rows ? p.rows[r] : r) * sum.cols;
      for (let j = 0; j < sum.cols; j++) {
        out[o + j] = Math.fround(out[o + j] + y[r * sum.cols + j]);
      }
    }
  }
  return out;
}

/** The scalar reference of {@link OutlierLinear}, bit for bit. */
export function referenceProducts(sum: ProductSum): Float32Array {
  return sumProducts(
    sum,
    (p) => referenceGemmIntToF32(p.a, p.b, { scale: p.scale }),
  );
}

/** Runs the products on WASM GEMM kernels. */
export class OutlierLinear {
  readonly #s8: GemmKernel;
  readonly #s16: GemmKernel;

  private constructor(s8: GemmKernel, s16: GemmKernel) {
    this.#s8 = s8;
    this.#s16 = s16;
  }

  /** Instantiates the s8s8 (best variant here) and s16s8 (dot16) kernels. */
  static async create(): Promise<OutlierLinear> {
    const s8: GemmParams = {
      family: "s8s8",
      variant: selectS8Variant(),
      mr: 3,
      nr: 12,
      output: "f32",
    };
    const s16: GemmParams = { ...s8, family: "s16s8", variant: "dot16" };
    const [a, b] = await Promise.all([
      GemmKernel.create(s8),
      GemmKernel.create(s16),
    ]);
    return new OutlierLinear(a, b);
  }

  /** Sums the products of `sum` (from forwardProducts / gradWeightProducts). */
  run(sum: ProductSum): Float32Array {
    return sumProducts(sum, (p) => {
      const kernel = p.a.data instanceof Int16Array ? this.#s16 : this.#s8;
      return kernel.matmul(p.a, p.b, { scale: p.scale }) as Float32Array;
    });
  }

  /** Y = X·W under the given treatment. */
  forward(input: OutlierInput, w: BfpTensor): Float32Array {
    return this.run(forwardProducts(input, w));
  }

  /** dW = Xᵀ·dY from the saved forward treatment of X. */
  gradWeight(input: OutlierInput, g: BfpTensor): Float32Array {
    return this.run(gradWeightProducts(input, g));
  }
}
