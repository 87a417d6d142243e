/**
 * Runs a generated GEMM on typed arrays: instantiates the module on a
 * (possibly shared) memory, lays out packed operands, output, bias and
 * per-thread scratch tiles, packs, calls, and reads back.
 *
 * @example
 * ```ts
 * const k = await GemmKernel.create({ family: "s8s8", variant: "dot16", mr: 3, nr: 12, output: "f32" });
 * const y = k.matmul(rowMajor(x, m, kk), rowMajor(w, kk, n), { scale: 2 ** -14 });
 * ```
 * @module
 */

import { type GemmModule, generateGemm } from "./generate.ts";
import type { MatrixView } from "./matrix.ts";
import { CONTROL_WORDS } from "./thread_protocol.ts";
import {
  expectARange,
  expectOperandType,
  kSteps,
  packedASize,
  packedBSize,
} from "./pack.ts";
import {
  gemmKernelName,
  gemmLayout,
  type GemmParams,
  maxExactK,
} from "./params.ts";

/** Bytes at the start of memory reserved for thread control words. */
export const CONTROL_BYTES: number = Math.ceil(CONTROL_WORDS * 4 / 64) * 64;
const PAGE = 65536;
/** Largest memory a kernel instance grows to (2 GiB). */
export const MEMORY_MAX_PAGES = 32768;
/** Packed-A bytes per cache block: the row block stays in L2 across all B panels. */
export const A_BLOCK_BYTES = 384 * 1024;

/** Where one GEMM's buffers live in the kernel's memory. */
export interface GemmPlan {
  /** Rows of A and C. */
  readonly m: number;
  /** Reduction length. */
  readonly k: number;
  /** Columns of B and C. */
  readonly n: number;
  /** Row stride of C in elements (≥ n). */
  readonly ldc: number;
  /** k-steps the kernel iterates. */
  readonly ksteps: number;
  /** Row tiles of C. */
  readonly mTiles: number;
  /** Row tiles per cache block. */
  readonly blockTiles: number;
  /** Byte addresses. bias is 0 when there is none. */
  readonly aPtr: number;
  readonly bPtr: number;
  readonly cPtr: number;
  readonly biasPtr: number;
  /** One scratch tile per thread. */
  readonly scratchPtrs: readonly number[];
  /** Where operands not already in this memory are copied before packing. */
  readonly stagingPtr: number;
}

/** Options of {@link GemmKernel.plan}. */
export interface PlanOptions {
  /** Row stride of C in elements; defaults to n. */
  ldc?: number;
  /** Whether a bias will be added. */
  bias?: boolean;
  /** Threads that will compute on this plan (one scratch tile each). */
  threads?: number;
  /** Row tiles per cache block; defaults to fill {@link A_BLOCK_BYTES}. */
  blockTiles?: number;
}

/**
 * The signature of a generated module's `packA` / `packB` exports (see
 * `pack_wasm.ts`): 1 if an A value is outside the exact range, else 0.
 */
export type PackExport = (
  src: number,
  lineStride: number,
  kStride: number,
  lines: number,
  kLen: number,
  dst: number,
) => number;

/** Thrown when K is beyond what an integer kernel sums exactly in i32. */
export class GemmKLimitError extends RangeError {
  /** Creates the error for reduction length `k` over `limit` (given max |A|, if known). */
  constructor(
    readonly params: GemmParams,
    readonly k: number,
    readonly limit: number,
    readonly maxAbsA?: number,
  ) {
    const data = maxAbsA === undefined ? "" : ` with max |A| = ${maxAbsA}`;
    super(
      `K = ${k} exceeds ${limit}, the longest reduction ${
        gemmKernelName(params)
      } sums exactly in i32${data} (K·max|A|·128 must stay below 2^31). ` +
        `Split K into chunks of at most ${limit} and add the partial outputs, ` +
        `or narrow A.`,
    );
    this.name = "GemmKLimitError";
  }
}

/** The signature of a generated module's `gemm` export. */
export type GemmExport = (
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  ksteps: number,
  ldc: number,
  scale: number,
  bias: number,
  scratch: number,
  blockTiles: number,
) => void;

const align = (x: number, to: number) => Math.ceil(x / to) * to;

/** A generated GEMM instantiated on a memory. */
export class GemmKernel {
  readonly #gemm: GemmExport;
  readonly #packA: PackExport;
  readonly #packB: PackExport;

  private constructor(
    readonly module: GemmModule,
    readonly compiled: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
  ) {
    this.#gemm = instance.exports.gemm as GemmExport;
    this.#packA = instance.exports.packA as PackExport;
    this.#packB = instance.exports.packB as PackExport;
  }

  /** Generates and instantiates the kernel for `params`. */
  static async create(
    params: GemmParams,
    options: { shared?: boolean; memory?: WebAssembly.Memory } = {},
  ): Promise<GemmKernel> {
    const shared = options.shared ?? false;
    const module = generateGemm(params, shared);
    const memory = options.memory ??
      new WebAssembly.Memory({ initial: 1, maximum: MEMORY_MAX_PAGES, shared });
    const compiled = await WebAssembly.compile(module.bytes);
    const instance = await WebAssembly.instantiate(compiled, {
      env: { memory },
    });
    return new GemmKernel(module, compiled, memory, instance);
  }

  /** The raw `gemm` export (the thread pool calls it per chunk). */
  get gemm(): GemmExport {
    return this.#gemm;
  }

  /** Parameters of the generated kernel. */
  get params(): GemmParams {
    return this.module.params;
  }

  /** Lays out buffers for an m×k by k×n product, growing memory as needed. */
  plan(m: number, k: number, n: number, options: PlanOptions = {}): GemmPlan {
    for (const [what, v] of [["m", m], ["k", k], ["n", n]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `GEMM dimension ${what} must be a positive integer, got ${v}.`,
        );
      }
    }
    const p = this.params;
    // s16s8's limit depends on the data, so packA checks it.
    if (p.family === "s8s8" && k > maxExactK(p)) {
      throw new GemmKLimitError(p, k, maxExactK(p));
    }
    const ldc = options.ldc ?? n;
    if (ldc < n) {
      throw new RangeError(`Output row stride ${ldc} is below n = ${n}.`);
    }
    const threads = options.threads ?? 1;
    const ksteps = kSteps(p, k);
    const mTiles = Math.ceil(m / p.mr);
    const aTileBytes = ksteps * p.mr * gemmLayout(p).aRowStepBytes;
    const blockTiles = options.blockTiles ??
      Math.max(1, Math.floor(A_BLOCK_BYTES / aTileBytes));
    let top = CONTROL_BYTES;
    const take = (bytes: number) => {
      const at = top;
      top = align(top + bytes, 64);
      return at;
    };
    const scratchPtrs = Array.from(
      { length: threads },
      () => take(p.mr * p.nr * 4),
    );
    const aPtr = take(packedASize(p, m, k));
    const bPtr = take(packedBSize(p, k, n));
    // The last row needs only n columns, but edge tiles never write past n.
    const cPtr = take(((m - 1) * ldc + n) * 4);
    const biasPtr = options.bias ? take(align(n, p.nr) * 4) : 0;
    const stagingPtr = top;
    this.#reserve(top);
    return {
      m,
      k,
      n,
      ldc,
      ksteps,
      mTiles,
      blockTiles,
      aPtr,
      bPtr,
      cPtr,
      biasPtr,
      scratchPtrs,
      stagingPtr,
    };
  }

  /** Grows memory to at least `bytes`. */
  #reserve(bytes: number): void {
    const needPages = Math.ceil(bytes / PAGE);
    const havePages = this.memory.buffer.byteLength / PAGE;
    if (needPages > havePages) this.memory.grow(needPages - havePages);
  }

  /**
   * The byte address of view element (0, 0) in this memory: in place when the
   * view already lives here (the runtime arena), else after copying the span
   * the view covers to the plan's staging area.
   */
  #resident(plan: GemmPlan, v: MatrixView): number {
    if (v.rowStride < 0 || v.colStride < 0) {
      throw new RangeError("GEMM operands need non-negative strides.");
    }
    const size = v.data.BYTES_PER_ELEMENT;
    const first = v.data.byteOffset + v.offset * size;
    if (v.data.buffer === this.memory.buffer) return first;
    const span = ((v.rows - 1) * v.rowStride + (v.cols - 1) * v.colStride + 1) *
      size;
    this.#reserve(plan.stagingPtr + span);
    new Uint8Array(this.memory.buffer, plan.stagingPtr, span).set(
      new Uint8Array(v.data.buffer, first, span),
    );
    return plan.stagingPtr;
  }

  /** Packs A (plan.m × plan.k) with the generated packer: rows are lines. */
  packA(plan: GemmPlan, a: MatrixView): void {
    checkView(a, plan.m, plan.k, "A");
    expectOperandType(this.params, a, "A");
    const p = this.params;
    const src = this.#resident(plan, a);
    const flag = this.#packA(
      src,
      a.rowStride,
      a.colStride,
      a.rows,
      a.cols,
      plan.aPtr,
    );
    if (p.family === "s16s8") {
      const limit = maxExactK(p, flag);
      if (plan.k > limit) throw new GemmKLimitError(p, plan.k, limit, flag);
    } else if (flag) expectARange(p, a);
  }

  /** Packs B (plan.k × plan.n) with the generated packer: columns are lines. */
  packB(plan: GemmPlan, b: MatrixView): void {
    checkView(b, plan.k, plan.n, "B");
    expectOperandType(this.params, b, "B");
    const src = this.#resident(plan, b);
    this.#packB(src, b.colStride, b.rowStride, b.cols, b.rows, plan.bPtr);
  }

  /** Copies the per-column bias (length n) into the plan. */
  setBias(plan: GemmPlan, bias: Float32Array): void {
    if (plan.biasPtr === 0) {
      throw new Error("The plan was made without a bias buffer.");
    }
    if (bias.length !== plan.n) {
      throw new RangeError(
        `Bias has ${bias.length} entries, the output has ${plan.n} columns.`,
      );
    }
    new Float32Array(this.memory.buffer, plan.biasPtr, plan.n).set(bias);
  }

  /** Computes C row tiles [tileStart, tileEnd) using scratch tile `thread`. */
  compute(
    plan: GemmPlan,
    scale = 1,
    tileStart = 0,
    tileEnd = plan.mTiles,
    thread = 0,
  ): void {
    if (tileEnd <= tileStart) return;
    this.#gemm(
      ...gemmArgs(this.params, plan, scale, tileStart, tileEnd, thread),
    );
  }
  /** A copy of C as a dense row-major m × n array. */
  readOutput(plan: GemmPlan): Float32Array | Int32Array {
    const length = (plan.m - 1) * plan.ldc + plan.n;
    const all = this.params.output === "i32"
      ? new Int32Array(this.memory.buffer, plan.cPtr, length)
      : new Float32Array(this.memory.buffer, plan.cPtr, length);
    const out = this.params.output === "i32"
      ? new Int32Array(plan.m * plan.n)
      : new Float32Array(plan.m * plan.n);
    for (let i = 0; i < plan.m; i++) {
      out.set(all.subarray(i * plan.ldc, i * plan.ldc + plan.n), i * plan.n);
    }
    return out;
  }

  /** Plans, packs, computes and reads back C = epilogue(A·B) on one thread. */
  matmul(
    a: MatrixView,
    b: MatrixView,
    options: { scale?: number; bias?: Float32Array; ldc?: number } = {},
  ): Float32Array | Int32Array {
    const plan = this.plan(a.rows, a.cols, b.cols, {
      ldc: options.ldc,
      bias: options.bias !== undefined,
    });
    this.packA(plan, a);
    this.packB(plan, b);
    if (options.bias) this.setBias(plan, options.bias);
    this.compute(plan, options.scale ?? 1);
    return this.readOutput(plan);
  }
}

/** The `gemm` export's arguments for row tiles [tileStart, tileEnd) of `plan`. */
export function gemmArgs(
  p: GemmParams,
  plan: GemmPlan,
  scale: number,
  tileStart: number,
  tileEnd: number,
  thread: number,
): Parameters<GemmExport> {
  const aTileBytes = plan.ksteps * p.mr * gemmLayout(p).aRowStepBytes;
  // An empty share (more threads than row tiles) is 0 rows: a no-op call.
  const rows = Math.max(
    0,
    Math.min(plan.m - tileStart * p.mr, (tileEnd - tileStart) * p.mr),
  );
  return [
    plan.aPtr + tileStart * aTileBytes,
    plan.bPtr,
    plan.cPtr + tileStart * p.mr * plan.ldc * 4,
    rows,
    plan.n,
    plan.ksteps,
    plan.ldc,
    scale,
    plan.biasPtr,
    plan.scratchPtrs[thread],
    plan.blockTiles,
  ];
}

function checkView(
  v: MatrixView,
  rows: number,
  cols: number,
  what: string,
): void {
  if (v.rows !== rows || v.cols !== cols) {
    throw new RangeError(
      `Operand ${what} is ${v.rows}×${v.cols}, the plan expects ${rows}×${cols}.`,
    );
  }
}
