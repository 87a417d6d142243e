/**
 * Emission helpers shared by the BFP kernel generators: counted loops, the
 * row walk with its tensor-granularity flattening, per-group scale vectors,
 * and the element prologue hook the outlier kernels plug in.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import type { BfpGranularity } from "./params.ts";

/**
 * An elementwise transform applied to x before max-abs and map (e.g. the
 * outlier remainder). `setup` runs once at function entry, declaring its
 * constants, and returns the emitter that rewrites an f32x4 local in place.
 */
export interface Prologue {
  /** Prefix of the kernel names, e.g. `outlier_tile_g5`. */
  readonly name: string;
  /** Declares constants; returns the in-place transform. */
  setup(f: FunctionEmitter): (v: Local) => void;
}

/** Emits `while (i < end) { body(); i += step }` with `i` already set. */
export function emitWhileBelow(
  f: FunctionEmitter,
  i: Local,
  end: () => void,
  step: number,
  body: () => void,
): void {
  f.block((exit) => {
    f.loop((next) => {
      f.emit("local.get", i);
      end();
      f.emit("i32.ge_s").emit("br_if", exit);
      body();
      f.emit("local.get", i).emit("i32.const", step).emit("i32.add")
        .emit("local.set", i).emit("br", next);
    });
  });
}

/** `local += by` for i32 locals. */
export function emitAddTo(f: FunctionEmitter, l: Local, by: number): void {
  f.emit("local.get", l).emit("i32.const", by).emit("i32.add")
    .emit("local.set", l);
}

/**
 * Tensor granularity treats the whole tensor as one row: cols ← rows·cols,
 * rows ← 1, so chunks run across row ends and no row has a scalar tail.
 */
export function emitFlattenForTensor(
  f: FunctionEmitter,
  granularity: BfpGranularity,
  rows: Local,
  cols: Local,
): void {
  if (granularity !== "tensor") return;
  f.emit("local.get", rows).emit("local.get", cols).emit("i32.mul")
    .emit("local.set", cols).emit("i32.const", 1).emit("local.set", rows);
}

/**
 * The two f32x4 scale factors (a, b) of the element group being processed.
 * Scales in memory: f32[2·G], G group count, factor a of group g at g, factor
 * b at G + g. Tensor and row scales are splatted once per function or row;
 * column scales are loaded per chunk of 4 columns.
 */
export class GroupScales {
  /** f32x4 of the first scale factor of the current columns. */
  readonly a: Local;
  /** f32x4 of the second scale factor. */
  readonly b: Local;
  readonly #f: FunctionEmitter;
  readonly #granularity: BfpGranularity;
  readonly #scales: Local;
  readonly #rows: Local;
  readonly #cols: Local;
  readonly #ptr: Local;

  /** Declares the locals; `scales`, `rows`, `cols` are the kernel's i32 params. */
  constructor(
    f: FunctionEmitter,
    granularity: BfpGranularity,
    scales: Local,
    rows: Local,
    cols: Local,
  ) {
    this.#f = f;
    this.#granularity = granularity;
    this.#scales = scales;
    this.#rows = rows;
    this.#cols = cols;
    this.a = f.local("v128", "scaleA");
    this.b = f.local("v128", "scaleB");
    this.#ptr = f.local("i32", "scalePtr");
  }

  /** At function entry (after flattening): tensor scales. */
  atEntry(): void {
    if (this.#granularity === "tensor") this.#splatAt(this.#scales, 1);
  }

  /** At the start of row `i`: row scales. */
  atRow(i: Local): void {
    if (this.#granularity !== "row") return;
    this.#f.emit("local.get", this.#scales).emit("local.get", i)
      .emit("i32.const", 2).emit("i32.shl").emit("i32.add")
      .emit("local.set", this.#ptr);
    this.#splatAt(this.#ptr, this.#rows);
  }

  /** Column scales for columns j + 4·group .. +3 (full chunk) or j alone (tail). */
  atColumns(j: Local, group: number, tail: boolean): void {
    if (this.#granularity !== "col") return;
    const f = this.#f;
    if (tail || group === 0) {
      f.emit("local.get", this.#scales).emit("local.get", j)
        .emit("i32.const", 2).emit("i32.shl").emit("i32.add")
        .emit("local.set", this.#ptr);
    }
    if (tail) {
      this.#splatAt(this.#ptr, this.#cols);
      return;
    }
    const offset = 16 * group;
    f.emit("local.get", this.#ptr).emit("v128.load", { offset, align: 2 })
      .emit("local.set", this.a);
    this.#bAddress(this.#cols);
    f.emit("v128.load", { offset, align: 2 }).emit("local.set", this.b);
  }

  /** a ← splat(f32 at ptr), b ← splat(f32 at ptr + 4·count). */
  #splatAt(ptr: Local, count: Local | 1): void {
    this.#f.emit("local.get", ptr).emit("v128.load32_splat")
      .emit("local.set", this.a);
    if (count === 1) {
      this.#f.emit("local.get", ptr).emit("v128.load32_splat", { offset: 4 });
    } else {
      this.#f.emit("local.get", ptr);
      this.#bAddressFrom(count);
      this.#f.emit("v128.load32_splat");
    }
    this.#f.emit("local.set", this.b);
  }

  #bAddress(count: Local): void {
    this.#f.emit("local.get", this.#ptr);
    this.#bAddressFrom(count);
  }

  /** Adds 4·count to the address on the stack. */
  #bAddressFrom(count: Local): void {
    this.#f.emit("local.get", count).emit("i32.const", 2).emit("i32.shl")
      .emit("i32.add");
  }
}
