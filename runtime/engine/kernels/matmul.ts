/**
 * MatMul and Gemm on the generated f32 WebAssembly GEMM, instantiated on the
 * engine's memory. Operands are packed into scratch with the GEMM folder's
 * packing helpers, which read strided views, so transposed operands (Gemm's
 * transA/transB, and the `transA`/`transB` marks the engine's transpose
 * fusion puts on MatMul) are never materialised. The product is written
 * straight into the output's arena slot.
 *
 * - A 2-D constant B (a weight) is packed once into persistent memory and
 *   repacked only after `setConstant` replaces it.
 * - With a 2-D B, A's batch dims fold into M: one GEMM per node, and an
 *   engine-internal third operand (a per-column bias, see `fuse.ts`) is
 *   added by the GEMM's epilogue.
 * - Batched products (attention) whose batch indices advance evenly run in
 *   one `gemmBatch` call the threads share by products
 *   (`batched_matmul.ts`); others run one GEMM per broadcast batch index.
 *
 * @module
 */

import {
  A_BLOCK_BYTES,
  type GemmExport,
  gemmLayout,
  type GemmParams,
  kSteps,
  type MatrixView,
  packedASize,
  packedBSize,
  type PackExport,
} from "../../../src/codegen/gemm/mod.ts";
import { floatAttr, intAttr } from "../../../src/ir/graph.ts";
import { sizeOf } from "../../../src/ir/tensor.ts";
import { broadcastIndex, broadcastShapes } from "../../../src/ops/broadcast.ts";
import { rowPlan } from "./broadcast.ts";
import {
  batchGroup,
  type BatchOperand,
  bindBatch,
  evenStep,
} from "./batched_matmul.ts";
import { gemmSource, packers } from "./gemm_source.ts";
import {
  align64,
  type Kernel,
  type KernelRuntime,
  type KernelTable,
  type NodeInfo,
  type Step,
} from "./types.ts";

/**
 * Reduction length per GEMM call. Longer reductions (the weight gradients,
 * k = batch·seq) run in chunks whose partial products are summed: a
 * k-chunk of each B panel then stays in cache while the row tiles sweep it,
 * which measured ~2× faster at k = 4096 than one pass.
 */
const K_CHUNK = 512;

/** The [start, length) of each reduction chunk of `k`. */
function chunksOf(k: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k0 = 0; k0 < k; k0 += K_CHUNK) {
    out.push([k0, Math.min(K_CHUNK, k - k0)]);
  }
  return out;
}

/** Bytes of B packed chunk by chunk, as {@linkcode GemmCall} reads it. */
function packedBBytes(p: GemmParams, k: number, n: number): number {
  return chunksOf(k).reduce(
    (sum, [, len]) => sum + align64(packedBSize(p, len, n)),
    0,
  );
}

/**
 * Scratch of one m×k by k×n product: edge tile, padded bias, one chunk of
 * packed A, one chunk of packed B, and a partial C when k is chunked.
 */
function productLayout(p: GemmParams, m: number, k: number, n: number) {
  const kc = Math.min(k, K_CHUNK);
  const bias = align64(p.mr * p.nr * 4);
  const a = bias + align64(Math.ceil(n / p.nr) * p.nr * 4);
  const b = a + align64(packedASize(p, m, kc));
  const partial = b + align64(packedBSize(p, kc, n));
  const bytes = partial + (k > K_CHUNK ? align64(m * n * 4) : 0);
  return { tile: 0, bias, a, b, partial, bytes };
}

/** One product C = A·B (+ bias) bound to the engine memory. */
class GemmCall {
  readonly #gemm: GemmExport;
  readonly #packA: PackExport;
  readonly #packB: PackExport;
  readonly #f32: Float32Array;
  readonly #at: ReturnType<typeof productLayout>;
  readonly #chunks: [number, number][];
  readonly #bOffsets: number[];

  constructor(
    readonly params: GemmParams,
    packs: { packA: PackExport; packB: PackExport },
    gemm: GemmExport,
    readonly memory: WebAssembly.Memory,
    readonly base: number,
    readonly m: number,
    readonly k: number,
    readonly n: number,
  ) {
    this.#gemm = gemm;
    this.#packA = packs.packA;
    this.#packB = packs.packB;
    this.#f32 = new Float32Array(memory.buffer);
    this.#at = productLayout(params, m, k, n);
    this.#chunks = chunksOf(k);
    let offset = 0;
    this.#bOffsets = this.#chunks.map(([, len]) => {
      const at = offset;
      offset += align64(packedBSize(params, len, n));
      return at;
    });
  }

  /** A strided view of the f32 elements at byte `address`. */
  view(
    address: number,
    rows: number,
    cols: number,
    trans: boolean,
  ): MatrixView {
    const offset = address / 4;
    return trans
      ? { data: this.#f32, offset, rows, cols, rowStride: 1, colStride: rows }
      : { data: this.#f32, offset, rows, cols, rowStride: cols, colStride: 1 };
  }

  /** Packs B (k × n), chunk by chunk, at byte `to` (persistent memory). */
  packB(b: MatrixView, to: number): void {
    this.#chunks.forEach(([k0, len], c) =>
      this.#packRowsOf(b, k0, len, to + this.#bOffsets[c])
    );
  }

  /** Packs rows [k0, k0+len) of B with the module's generated packer (columns are lines). */
  #packRowsOf(b: MatrixView, k0: number, len: number, to: number): void {
    const v = rowsOf(b, k0, len);
    this.#packB(v.offset * 4, v.colStride, v.rowStride, v.cols, v.rows, to);
  }

  /**
   * C (at byte `c`, row stride n) = A·B, plus `biasScale`·bias (n values at
   * byte `bias`) when `bias` is not 0. B is a view, packed here, or the
   * address where {@linkcode GemmCall.packB} put it.
   */
  run(
    a: MatrixView,
    b: MatrixView | number,
    c: number,
    bias = 0,
    biasScale = 1,
  ) {
    const { params: p, base } = this;
    const at = this.#at;
    if (bias !== 0) {
      const dst = (base + at.bias) / 4;
      for (let j = 0; j < this.n; j++) {
        this.#f32[dst + j] = biasScale * this.#f32[bias / 4 + j];
      }
    }
    this.#chunks.forEach(([k0, len], chunk) => {
      const av = colsOf(a, k0, len);
      this.#packA(
        av.offset * 4,
        av.rowStride,
        av.colStride,
        av.rows,
        av.cols,
        base + at.a,
      );
      let bAt = base + at.b;
      if (typeof b === "number") bAt = b + this.#bOffsets[chunk];
      else this.#packRowsOf(b, k0, len, bAt);
      const ksteps = kSteps(p, len);
      const aTileBytes = ksteps * p.mr * gemmLayout(p).aRowStepBytes;
      const out = chunk === 0 ? c : base + at.partial;
      this.#gemm(
        base + at.a,
        bAt,
        out,
        this.m,
        this.n,
        ksteps,
        this.n,
        1,
        chunk === 0 && bias !== 0 ? base + at.bias : 0,
        base + at.tile,
        Math.max(1, Math.floor(A_BLOCK_BYTES / aTileBytes)),
      );
      if (chunk > 0) {
        const sum = c / 4, partial = out / 4;
        for (let i = 0; i < this.m * this.n; i++) {
          this.#f32[sum + i] += this.#f32[partial + i];
        }
      }
    });
  }
}

/** Columns [k0, k0 + len) of a view. */
function colsOf(v: MatrixView, k0: number, len: number): MatrixView {
  return { ...v, offset: v.offset + k0 * v.colStride, cols: len };
}

/** Rows [k0, k0 + len) of a view. */
function rowsOf(v: MatrixView, k0: number, len: number): MatrixView {
  return { ...v, offset: v.offset + k0 * v.rowStride, rows: len };
}

/** Instantiates the GEMM for `params` on the engine memory (once per engine). */
async function bindGemm(
  rt: KernelRuntime,
  params: GemmParams,
  m: number,
  k: number,
  n: number,
): Promise<GemmCall> {
  const source = gemmSource(params, rt.shared);
  const packs = await packers(rt, source, params);
  const gemm = await rt.gemm(source, params);
  return new GemmCall(params, packs, gemm, rt.memory, rt.scratch, m, k, n);
}

/** Whether the operands are f32 and present. */
function f32Operands(info: NodeInfo, count: number): boolean {
  return info.inputs.slice(0, count).every((t) => t?.dtype === "f32") &&
    info.outputs[0]?.dtype === "f32";
}

function matmul(p: GemmParams) {
  return (info: NodeInfo): Kernel | undefined => {
    if (!f32Operands(info, 2)) return undefined;
    const transA = intAttr(info.node.attrs, "transA", 0) !== 0;
    const transB = intAttr(info.node.attrs, "transB", 0) !== 0;
    const sa = info.inputs[0]!.shape, sb = info.inputs[1]!.shape;
    const a = sa.length === 1 ? [1, sa[0]] : sa;
    const b = sb.length === 1 ? [sb[0], 1] : sb;
    const swap = (s: readonly number[], t: boolean) =>
      t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : [...s];
    const la = swap(a, transA), lb = swap(b, transB);
    const batchA = la.slice(0, -2), batchB = lb.slice(0, -2);
    const batch = broadcastShapes([batchA, batchB]) as number[];
    let [m, k, n] = [la[la.length - 2], la[la.length - 1], lb[lb.length - 1]];
    // A 2-D B lets A's batch fold into M (A is contiguous when not transposed).
    const fold = batchB.length === 0 && !transA;
    if (fold) m *= sizeOf(batchA);
    const biased = info.inputs[2] !== undefined;
    if (biased && (!fold || info.inputs[2]!.dtype !== "f32")) return undefined;
    const count = fold ? 1 : sizeOf(batch);
    const indexA = broadcastIndex(batchA, fold ? [] : batch);
    const indexB = broadcastIndex(batchB, fold ? [] : batch);
    const fixedB = batchB.length === 0 && info.node.inputs[1] !== "" &&
      info.isConstant(1);
    const stepA = evenStep(indexA, m * k * 4);
    const stepB = evenStep(indexB, k * n * 4);
    if (
      count > 1 && k <= K_CHUNK && !biased && !fixedB &&
      stepA !== undefined && stepB !== undefined
    ) {
      return batched(p, { m, k, n, count }, transA, transB, [stepA, stepB], [
        indexA[0] * m * k * 4,
        indexB[0] * k * n * 4,
      ]);
    }
    return {
      scratchBytes: productLayout(p, m, k, n).bytes,
      persistentBytes: fixedB ? packedBBytes(p, k, n) : 0,
      async build(rt): Promise<Step> {
        const call = await bindGemm(rt, p, m, k, n);
        const [ax, bx, cx] = [rt.input(0), rt.input(1), rt.output(0)];
        const bias = rt.input(2);
        let packedVersion = -1;
        return () => {
          if (fixedB && packedVersion !== rt.version(1)) {
            call.packB(call.view(bx, k, n, transB), rt.persistent);
            packedVersion = rt.version(1);
          }
          for (let q = 0; q < count; q++) {
            const a = call.view(ax + indexA[q] * m * k * 4, m, k, transA);
            const b = fixedB
              ? rt.persistent
              : call.view(bx + indexB[q] * k * n * 4, k, n, transB);
            call.run(a, b, cx + q * m * n * 4, bias);
          }
        };
      },
    };
  };
}

/**
 * A batch of products whose operands advance evenly, on `gemmBatch`: one
 * call, split between the threads by products.
 */
function batched(
  p: GemmParams,
  dims: { m: number; k: number; n: number; count: number },
  transA: boolean,
  transB: boolean,
  [stepA, stepB]: [number, number],
  [firstA, firstB]: [number, number],
): Kernel {
  const { m, k, n } = dims;
  const operand = (
    at: number,
    rows: number,
    cols: number,
    trans: boolean,
    step: number,
  ): BatchOperand =>
    trans
      ? { at, rowStride: 1, colStride: rows, step }
      : { at, rowStride: cols, colStride: 1, step };
  return {
    scratchBytes: batchGroup(p, dims).bytes,
    async build(rt): Promise<Step> {
      const run = await bindBatch(rt, p, dims, rt.scratch);
      const a = operand(rt.input(0) + firstA, m, k, transA, stepA);
      const b = operand(rt.input(1) + firstB, k, n, transB, stepB);
      const c = rt.output(0);
      return () => run(a, b, c);
    },
  };
}

function gemm(p: GemmParams) {
  return (info: NodeInfo): Kernel | undefined => {
    if (!f32Operands(info, 2)) return undefined;
    const { attrs } = info.node;
    const transA = intAttr(attrs, "transA", 0) !== 0;
    const transB = intAttr(attrs, "transB", 0) !== 0;
    const alpha = floatAttr(attrs, "alpha", 1);
    const beta = floatAttr(attrs, "beta", 1);
    const [a, b] = [info.inputs[0]!.shape, info.inputs[1]!.shape];
    const [m, k] = transA ? [a[1], a[0]] : [a[0], a[1]];
    const n = transB ? b[0] : b[1];
    const c = info.inputs[2];
    if (c !== undefined && c.dtype !== "f32") return undefined;
    // The f32 GEMM's epilogue adds a per-column bias but applies no scale, so
    // only alpha = 1 with a column bias rides in it; the rest is done after.
    const epilogueBias = c !== undefined && alpha === 1 &&
      sizeOf(c.shape) === n && c.shape[c.shape.length - 1] === n;
    const addAfter = c !== undefined && !epilogueBias
      ? rowPlan([c.shape], [m, n])
      : undefined;
    const fixedB = info.isConstant(1);
    return {
      scratchBytes: productLayout(p, m, k, n).bytes,
      persistentBytes: fixedB ? packedBBytes(p, k, n) : 0,
      async build(rt): Promise<Step> {
        const call = await bindGemm(rt, p, m, k, n);
        const [ax, bx, cx] = [rt.input(0), rt.input(1), rt.output(0)];
        const y = rt.outputView(0);
        const cv = c === undefined ? undefined : rt.inputView(2);
        const bias = epilogueBias ? rt.input(2) : 0;
        let packedVersion = -1;
        return () => {
          const bView = call.view(bx, k, n, transB);
          if (fixedB && packedVersion !== rt.version(1)) {
            call.packB(bView, rt.persistent);
            packedVersion = rt.version(1);
          }
          const a = call.view(ax, m, k, transA);
          call.run(a, fixedB ? rt.persistent : bView, cx, bias, beta);
          if (alpha !== 1) { for (let i = 0; i < m * n; i++) y[i] *= alpha; }
          if (addAfter !== undefined && cv !== undefined) {
            const { rows, width } = addAfter;
            const { starts, step } = addAfter.operands[0];
            for (let r = 0; r < rows; r++) {
              for (let j = 0; j < width; j++) {
                y[r * width + j] += beta * cv[starts[r] + j * step];
              }
            }
          }
        };
      },
    };
  };
}

/** MatMul and Gemm kernels on the f32 GEMM with tile `params`. */
export function matmulKernels(params: GemmParams): KernelTable {
  return { MatMul: matmul(params), Gemm: gemm(params) };
}
