/**
 * Transpose as a pure copy planned at create time. The permutation is first
 * simplified — size-1 dims dropped, input dims that stay adjacent in the
 * output merged — so BERT's head split `[B,S,N,H]→[B,N,S,H]` stays 4-D but
 * `[B,S,N,H]→[B,N,H,S]` becomes a batch of `[S,N·H]` matrix transposes.
 * The output is then written row by row, each row read from the input with
 * one step: contiguous when the input's last dim stays last (a memmove per
 * row once rows are long enough to pay for the call), strided when it
 * moves. A strided row of up to `TILE_Y` elements touches few enough cache
 * lines that the next row finds them in L1; longer ones go in tiles that
 * read each line once (measured on 2 EPYC cores: 1.5× faster at 1024×1024,
 * no gain at BERT's 128×256).
 *
 * @module
 */

import type { TensorData } from "../../../src/ir/dtype.ts";
import { sizeOf, stridesOf } from "../../../src/ir/tensor.ts";
import type { Step } from "./types.ts";

/** A transpose's input dims and permutation. */
export interface Permutation {
  /** Input dims. */
  readonly dims: readonly number[];
  /** Output axis `k` is input axis `perm[k]`. */
  readonly perm: readonly number[];
}

/** Runs of at least this many bytes are copied by `copyWithin` (a memmove). */
const MEMMOVE_BYTES = 256;
/** Tile width along the source's contiguous axis: a cache line of f32. */
const TILE_X = 16;
/** Tile height: source rows whose lines stay in L1 while the band is read. */
const TILE_Y = 256;

/**
 * The same copy with size-1 dims dropped and each run of consecutive input
 * axes that stays in order in the output merged into one axis.
 */
export function simplify({ dims, perm }: Permutation): Permutation {
  const live = dims.flatMap((d, a) => d === 1 ? [] : [a]);
  // Input axes in output order, grouped into ascending runs.
  const groups: number[][] = [];
  for (const a of perm) {
    const i = live.indexOf(a);
    if (i < 0) continue;
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1] + 1 === i) last.push(i);
    else groups.push([i]);
  }
  const byInput = [...groups].sort((g, h) => g[0] - h[0]);
  return {
    dims: byInput.map((g) => sizeOf(g.map((i) => dims[live[i]]))),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

/**
 * A tile: `dst[o + x·os + y] = src[s + x + y·is]` for `x < xs`, `y < ys`;
 * `x` runs along the source's contiguous axis.
 */
function copyTile(
  dst: TensorData,
  src: TensorData,
  o: number,
  s: number,
  xs: number,
  ys: number,
  is: number,
  os: number,
): void {
  for (let x = 0; x < xs; x++) {
    const ox = o + x * os;
    const sx = s + x;
    for (let y = 0; y < ys; y++) dst[ox + y] = src[sx + y * is];
  }
}

/**
 * A whole `[xs, ys]` transpose, in tiles: each band of `TILE_Y` source rows
 * is read a cache line at a time and finished before the next band.
 */
function copyTiles(
  dst: TensorData,
  src: TensorData,
  o: number,
  s: number,
  xs: number,
  ys: number,
  is: number,
  os: number,
): void {
  for (let y = 0; y < ys; y += TILE_Y) {
    const yt = Math.min(TILE_Y, ys - y);
    for (let x = 0; x < xs; x += TILE_X) {
      const xt = Math.min(TILE_X, xs - x);
      copyTile(dst, src, o + x * os + y, s + x + y * is, xt, yt, is, os);
    }
  }
}

/**
 * The step copying `src` (input dims) into `dst` by `p`; both are views of
 * the same memory (the engine's), which the row memmove relies on.
 */
export function transposeStep(
  p: Permutation,
  src: TensorData,
  dst: TensorData,
): Step {
  const { dims, perm } = simplify(p);
  const r = dims.length;
  if (r <= 1) return () => dst.set(src);
  const inStrides = stridesOf(dims);
  const outDims = perm.map((a) => dims[a]);
  const outStrides = stridesOf(outDims);
  // Output axis q reads the input's contiguous axis, the output's last axis
  // reads input axis perm[r-1] with stride `is`.
  const q = perm.indexOf(r - 1);
  const [xs, ys] = [dims[r - 1], outDims[r - 1]];
  const [is, os] = [inStrides[perm[r - 1]], outStrides[q]];
  if (q === r - 1 || ys <= TILE_Y) {
    // Output rows, each read with step `is` (1 when the last dim stays).
    return rowsStep(src, dst, ys, is, leadWalk(dims, perm, inStrides));
  }
  // A two-axis transpose for every index of the other (batch) axes.
  const batch = [...perm.keys()].filter((k) => k !== q && k !== r - 1);
  const bDims = batch.map((k) => outDims[k]);
  const bIn = batch.map((k) => inStrides[perm[k]]);
  const bOut = batch.map((k) => outStrides[k]);
  const total = sizeOf(bDims);
  const counter = new Int32Array(batch.length);
  return () => {
    counter.fill(0);
    let s = 0;
    let o = 0;
    for (let t = 0; t < total; t++) {
      copyTiles(dst, src, o, s, xs, ys, is, os);
      for (let d = batch.length - 1; d >= 0; d--) {
        s += bIn[d];
        o += bOut[d];
        if (++counter[d] < bDims[d]) break;
        s -= bIn[d] * bDims[d];
        o -= bOut[d] * bDims[d];
        counter[d] = 0;
      }
    }
  };
}

/**
 * When `p` keeps the input's last axis last, the output as rows of `width`
 * elements: the output's lead dims and the input strides (in elements)
 * they read with; else undefined.
 */
export function contiguousRows(
  p: Permutation,
): { width: number; lead: Walk } | undefined {
  const { dims, perm } = simplify(p);
  const r = dims.length;
  if (r <= 1 || perm[r - 1] !== r - 1) return undefined;
  return { width: dims[r - 1], lead: leadWalk(dims, perm, stridesOf(dims)) };
}

/** The output's axes before its last, and the input strides they read with. */
function leadWalk(
  dims: readonly number[],
  perm: readonly number[],
  inStrides: readonly number[],
): Walk {
  const lead = perm.slice(0, -1);
  return {
    dims: lead.map((a) => dims[a]),
    strides: lead.map((a) => inStrides[a]),
  };
}

/** The output's leading axes and the input strides they read with. */
interface Walk {
  /** Output dims before the last. */
  readonly dims: readonly number[];
  /** Input stride of each. */
  readonly strides: readonly number[];
}

/**
 * The step copying the output row by row: `width` elements each, read from
 * the input with step `step`, the rows' starts walked by `walk`. Contiguous
 * rows long enough are one memmove each. The loops sit in the step itself:
 * measured in the engine, a helper call per row costs more than it saves.
 */
function rowsStep(
  src: TensorData,
  dst: TensorData,
  width: number,
  step: number,
  { dims, strides }: Walk,
): Step {
  const n = sizeOf(dims) * width;
  const counter = new Int32Array(dims.length);
  const last = dims.length - 1;
  /** The input offset of the row after the one at `s`; counts in `counter`. */
  const next = (s: number) => {
    for (let d = last; d >= 0; d--) {
      s += strides[d];
      if (++counter[d] < dims[d]) break;
      s -= strides[d] * dims[d];
      counter[d] = 0;
    }
    return s;
  };
  const e = src.BYTES_PER_ELEMENT;
  if (step !== 1 && strides[last] === 1 && dims[last] % 4 === 0) {
    // Four rows at a time: they read four adjacent elements, so each source
    // line fetched serves four rows at once (measured: a quarter faster on
    // BERT's [S, N·H] transposes).
    return () => {
      counter.fill(0);
      for (let o = 0, s = 0; o < n; o += 4 * width) {
        for (let j = 0; j < width; j++) {
          const k = s + j * step;
          dst[o + j] = src[k];
          dst[o + width + j] = src[k + 1];
          dst[o + 2 * width + j] = src[k + 2];
          dst[o + 3 * width + j] = src[k + 3];
        }
        for (let k = 0; k < 4; k++) s = next(s);
      }
    };
  }
  if (step !== 1) {
    return () => {
      counter.fill(0);
      for (let o = 0, s = 0; o < n; o += width, s = next(s)) {
        for (let j = 0; j < width; j++) dst[o + j] = src[s + j * step];
      }
    };
  }
  if (width * e < MEMMOVE_BYTES) {
    return () => {
      counter.fill(0);
      for (let o = 0, s = 0; o < n; o += width, s = next(s)) {
        for (let j = 0; j < width; j++) dst[o + j] = src[s + j];
      }
    };
  }
  const bytes = new Uint8Array(src.buffer);
  const [sb, db] = [src.byteOffset, dst.byteOffset];
  return () => {
    counter.fill(0);
    for (let o = 0, s = 0; o < n; o += width, s = next(s)) {
      bytes.copyWithin(db + o * e, sb + s * e, sb + (s + width) * e);
    }
  };
}
