/**
 * Runs a generated BFP module on typed arrays: lays out x, q, the group maxima
 * and scales in its memory, runs max-abs → exponents (host, exact) → map, or
 * unmap, and reads back. The host step between the two passes is one frexp
 * per group, so the kernels stay free of exponent logic.
 *
 * Inside the runtime arena, build a {@link BfpLayout} over it and call
 * `runMaxAbs` / `runMap` / `runUnmap` directly. A worker can map a block of
 * rows: offset the pointers, pass its row count and counterBase = r0·cols
 * (for tensor exponents, combine the blocks' maxima first).
 *
 * @example
 * ```ts
 * const k = await BfpKernel.create({ bits: 8, rounding: "rne", granularity: "tensor" });
 * const t = k.quantise(x, rows, cols);          // equals referenceQuantise(x, rows, cols, k.params)
 * const xHat = k.dequantise(t);
 * ```
 * @module
 */

import { mapFactors, stepFactors } from "./exponent.ts";
import {
  type BfpGenerateOptions,
  type BfpModule,
  generateBfp,
} from "./generate.ts";
import { bfpElementBytes, BfpError, type BfpParams } from "./params.ts";
import {
  type BfpMapOptions,
  type BfpTensor,
  checkShape,
  exponentsOf,
  groupCount,
  requireSeed,
} from "./reference.ts";
import { prngKeys } from "./prng.ts";

const PAGE = 65536;
const align = (n: number) => Math.ceil(n / 64) * 64;

/** Byte addresses of one rows × cols problem in the kernel's memory. */
export interface BfpLayout {
  /** Row count. */
  readonly rows: number;
  /** Column count. */
  readonly cols: number;
  /** f32 input / dequantised output. */
  readonly xPtr: number;
  /** Mapped integers. */
  readonly qPtr: number;
  /** f32 group maxima. */
  readonly maxPtr: number;
  /** f32[2·groups] scale factors. */
  readonly scalesPtr: number;
}

/**
 * Lays out x, q, `groups` maxima and 2·`groups` scales from byte `base`
 * (64-byte aligned), growing `memory` to hold them; `end` is the first free
 * byte after them.
 */
export function allocateBfpLayout(
  memory: WebAssembly.Memory,
  shape: { rows: number; cols: number; elementBytes: number; groups: number },
  base = 0,
): BfpLayout & { end: number } {
  const { rows, cols, elementBytes, groups } = shape;
  let end = align(base);
  const take = (bytes: number) => {
    const at = end;
    end = align(end + bytes);
    return at;
  };
  const xPtr = take(4 * rows * cols);
  const qPtr = take(elementBytes * rows * cols);
  const maxPtr = take(4 * groups);
  const scalesPtr = take(8 * groups);
  const have = memory.buffer.byteLength / PAGE;
  const need = Math.ceil(end / PAGE);
  if (need > have) memory.grow(need - have);
  return { rows, cols, xPtr, qPtr, maxPtr, scalesPtr, end };
}

/** `max(x, rows, cols, out)`: f32 group maxima of |prologue(x)| at `out`. */
export type MaxAbsFn = (
  x: number,
  rows: number,
  cols: number,
  out: number,
) => void;
/** `map(x, q, rows, cols, scales, counterBase, key0, key1)`. */
export type MapFn = (
  x: number,
  q: number,
  rows: number,
  cols: number,
  scales: number,
  counterBase: number,
  key0: number,
  key1: number,
) => void;
/** `unmap(q, y, rows, cols, scales)`. */
export type UnmapFn = (
  q: number,
  y: number,
  rows: number,
  cols: number,
  scales: number,
) => void;

/** A generated BFP module instantiated on a memory. */
export class BfpKernel {
  readonly #maxAbs: MaxAbsFn;
  readonly #map: MapFn;
  readonly #unmap: UnmapFn;

  private constructor(
    readonly module: BfpModule,
    readonly memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
  ) {
    const ex = instance.exports;
    this.#maxAbs = ex[module.names.maxAbs] as MaxAbsFn;
    this.#map = ex[module.names.map] as MapFn;
    this.#unmap = ex[module.names.unmap] as UnmapFn;
  }

  /** Generates and instantiates the kernels for `params`. */
  static async create(
    params: BfpParams,
    options: BfpGenerateOptions & { memory?: WebAssembly.Memory } = {},
  ): Promise<BfpKernel> {
    const module = generateBfp(params, options);
    const memory = options.memory ?? new WebAssembly.Memory({
      initial: 1,
      maximum: 32768,
      shared: options.shared ?? false,
    });
    const { instance } = await WebAssembly.instantiate(module.bytes, {
      env: { memory },
    });
    return new BfpKernel(module, memory, instance);
  }

  /** Parameters of the generated kernels. */
  get params(): BfpParams {
    return this.module.params;
  }

  /** Lays out buffers for a rows × cols tensor from byte 0, growing memory. */
  layout(rows: number, cols: number): BfpLayout {
    return allocateBfpLayout(this.memory, {
      rows,
      cols,
      elementBytes: bfpElementBytes(this.params.bits),
      groups: groupCount(this.params.granularity, rows, cols),
    });
  }

  /** Runs max-abs on the x already at `l.xPtr`; returns the frexp exponents. */
  runMaxAbs(l: BfpLayout): Int32Array {
    this.#maxAbs(l.xPtr, l.rows, l.cols, l.maxPtr);
    const groups = groupCount(this.params.granularity, l.rows, l.cols);
    return exponentsOf(new Float32Array(this.memory.buffer, l.maxPtr, groups));
  }

  /** Runs the map of the x at `l.xPtr` into `l.qPtr` with the given exponents. */
  runMap(
    l: BfpLayout,
    exponents: Int32Array,
    options: BfpMapOptions = {},
  ): void {
    this.#writeScales(l, exponents, mapFactors);
    const [k0, k1] = this.params.rounding === "sr"
      ? prngKeys(requireSeed(options))
      : [0, 0];
    const base = options.counterBase ?? 0;
    this.#map(l.xPtr, l.qPtr, l.rows, l.cols, l.scalesPtr, base, k0, k1);
  }

  /** Runs the unmap of the q at `l.qPtr` into `l.xPtr`. */
  runUnmap(l: BfpLayout, exponents: Int32Array): void {
    this.#writeScales(l, exponents, stepFactors);
    this.#unmap(l.qPtr, l.xPtr, l.rows, l.cols, l.scalesPtr);
  }

  #writeScales(
    l: BfpLayout,
    exponents: Int32Array,
    factors: (e: number, bits: number) => [number, number],
  ): void {
    const groups = groupCount(this.params.granularity, l.rows, l.cols);
    if (exponents.length !== groups) {
      throw new BfpError(
        `A ${this.params.granularity} BFP map of ${l.rows}×${l.cols} needs ${groups} exponents, got ${exponents.length}.`,
      );
    }
    const scales = new Float32Array(
      this.memory.buffer,
      l.scalesPtr,
      2 * groups,
    );
    exponents.forEach((e, g) => {
      const [a, b] = factors(e, this.params.bits);
      scales[g] = a;
      scales[groups + g] = b;
    });
  }

  /** max|x| per group of a rows × cols tensor. */
  maxAbs(x: Float32Array, rows: number, cols: number): Float32Array {
    checkShape(x, rows, cols);
    const l = this.layout(rows, cols);
    new Float32Array(this.memory.buffer, l.xPtr, x.length).set(x);
    this.#maxAbs(l.xPtr, rows, cols, l.maxPtr);
    const groups = groupCount(this.params.granularity, rows, cols);
    return new Float32Array(this.memory.buffer, l.maxPtr, groups).slice();
  }

  /** Maps x (rows × cols, row-major) to BFP; equals `referenceQuantise`. */
  quantise(
    x: Float32Array,
    rows: number,
    cols: number,
    options: BfpMapOptions = {},
  ): BfpTensor {
    checkShape(x, rows, cols);
    const l = this.layout(rows, cols);
    new Float32Array(this.memory.buffer, l.xPtr, x.length).set(x);
    const exponents = this.runMaxAbs(l);
    this.runMap(l, exponents, options);
    return { params: this.params, rows, cols, q: this.#readQ(l), exponents };
  }

  /** x̂ = q · Δ per element; equals `referenceDequantise`. */
  dequantise(t: BfpTensor): Float32Array {
    if (
      t.params.bits !== this.params.bits ||
      t.params.granularity !== this.params.granularity
    ) {
      throw new BfpError(
        `Tensor is b${t.params.bits} ${t.params.granularity}, the kernel unmaps b${this.params.bits} ${this.params.granularity}.`,
      );
    }
    const l = this.layout(t.rows, t.cols);
    const n = t.rows * t.cols;
    if (this.params.bits === 8) {
      new Int8Array(this.memory.buffer, l.qPtr, n).set(t.q);
    } else new Int16Array(this.memory.buffer, l.qPtr, n).set(t.q);
    this.runUnmap(l, t.exponents);
    return new Float32Array(this.memory.buffer, l.xPtr, n).slice();
  }

  #readQ(l: BfpLayout): Int8Array | Int16Array {
    const n = l.rows * l.cols;
    return this.params.bits === 8
      ? new Int8Array(this.memory.buffer, l.qPtr, n).slice()
      : new Int16Array(this.memory.buffer, l.qPtr, n).slice();
  }
}
