/**
 * Generated packing functions, emitted into the GEMM module next to `gemm`,
 * producing exactly the layouts of `pack_reference.ts` (the TypeScript
 * packers they are tested against).
 *
 * Both operands pack the same way once seen as "lines" along the tile
 * dimension (A rows, B columns) and k along the reduction: a panel of `tile`
 * lines is written k-step after k-step, each line contributing kStep values
 * to a `lineBytes` slot. Strides are parameters, so the transposed operands of
 * the backward products (Wᵀ, Xᵀ) are read in place, never materialised.
 *
 * Exports (strides in elements, all pointers byte addresses):
 * - `packA(src, lineStride, kStride, lines, kLen, dst) → i32`
 * - `packB(src, lineStride, kStride, lines, kLen, dst) → i32`
 *
 * `packA` returns, for relaxed variants, 1 if some A value is outside the
 * exact range (the caller then finds and reports it); for s16s8, max |A|
 * (the caller checks the K limit against it); else 0. `packB` returns 0.
 *
 * Whole panels × whole k-steps take a fast path with unrolled per-line
 * pointers and no bounds checks (for f32 lines that sit side by side, a
 * straight v128 copy per k-step); the ragged edge (last partial panel, last
 * partial k-step) a checked path that writes the zero padding. The spec of
 * each operand and variant is in `pack_spec.ts`.
 * @module
 */

import type {
  FuncRef,
  FunctionEmitter,
  Local,
  ModuleBuilder,
} from "../wasm/mod.ts";
import { forLoop, localOnce } from "./emit_util.ts";
import {
  aSpec,
  bSpec,
  copiesUnitStrideLines,
  type PackSpec,
} from "./pack_spec.ts";
import { gemmLayout, type GemmParams, offsetOfA } from "./params.ts";

/** Adds the exported `packA` and `packB` functions for `p` to `mb`; returns them for other functions to call. */
export function addPackFunctions(
  mb: ModuleBuilder,
  p: GemmParams,
): { packA: FuncRef; packB: FuncRef } {
  const params = [
    ["src", "i32"],
    ["lineStride", "i32"],
    ["kStride", "i32"],
    ["lines", "i32"],
    ["kLen", "i32"],
    ["dst", "i32"],
  ] as const;
  const a = mb.addFunction(
    `pack_a_${p.family}_mr${p.mr}c${gemmLayout(p).kStep}_${p.variant}`,
    params,
    ["i32"],
    (f) => f.emit("local.get", emitPack(f, aSpec(p)).flag),
  );
  mb.exportFunction("packA", a);
  const b = mb.addFunction(
    `pack_b_${p.family}_nr${p.nr}c${gemmLayout(p).kStep}_${p.variant}`,
    params,
    ["i32"],
    (f) => {
      const locals = emitPack(f, bSpec(p));
      if (gemmLayout(p).bHeaderBytes > 0) emitColumnSums(f, p, locals);
      f.emit("local.get", locals.flag);
    },
  );
  mb.exportFunction("packB", b);
  return { packA: a, packB: b };
}

/** Locals of a packing function that later code reuses. */
interface PackLocals {
  /** 1 once a value outside the checked range was seen, or max |value|. */
  readonly flag: Local;
  /** Panel count, k-steps and bytes per panel. */
  readonly panels: Local;
  readonly ksteps: Local;
  readonly panelBytes: Local;
}

/** Emits the packing loops; the caller returns `flag`. */
function emitPack(f: FunctionEmitter, s: PackSpec): PackLocals {
  const P = (n: string) => f.param(n);
  const [src, lineStride, kStride, lines, kLen, dst] = [
    "src",
    "lineStride",
    "kStride",
    "lines",
    "kLen",
    "dst",
  ].map(P);
  const L = (n: string) => f.local("i32", n);
  const flag = L("flag"), x = L("x"), out = L("out");
  const panels = L("panels"), ksteps = L("ksteps");
  const fullPanels = L("fullPanels"), fullSteps = L("fullSteps");
  const panelBytes = L("panelBytes"), t = L("t"), st = L("st");
  const stepBytes = s.tile * s.lineBytes;
  const bytes = (v: Local) =>
    f.emit("local.get", v).emit("i32.const", s.elemShift).emit("i32.shl");

  // Strides become byte strides once, up front.
  bytes(lineStride).emit("local.set", lineStride);
  bytes(kStride).emit("local.set", kStride);
  const divide = (v: Local, d: number, round: boolean, into: Local) => {
    f.emit("local.get", v);
    if (round) f.emit("i32.const", d - 1).emit("i32.add");
    f.emit("i32.const", d).emit("i32.div_u").emit("local.set", into);
  };
  divide(lines, s.tile, true, panels);
  divide(kLen, s.kStep, true, ksteps);
  divide(lines, s.tile, false, fullPanels);
  divide(kLen, s.kStep, false, fullSteps);
  f.emit("local.get", ksteps).emit("i32.const", stepBytes).emit("i32.mul")
    .emit("i32.const", s.headerBytes).emit("i32.add")
    .emit("local.set", panelBytes);

  const check = () => {
    if (s.maxAbs) {
      // flag = max(flag, |x|), |x| = (x ^ x>>31) − x>>31.
      const abs = localOnce(f, "i32", "abs");
      f.emit("local.get", x).emit("local.get", x).emit("i32.const", 31)
        .emit("i32.shr_s").emit("local.tee", abs).emit("i32.xor")
        .emit("local.get", abs).emit("i32.sub").emit("local.tee", abs)
        .emit("local.get", flag).emit("local.get", abs).emit("local.get", flag)
        .emit("i32.gt_s").emit("select").emit("local.set", flag);
    }
    if (!s.range) return;
    const [lo, hi] = s.range;
    // (x − lo) >u (hi − lo) is one compare for both bounds.
    f.emit("local.get", x).emit("i32.const", lo).emit("i32.sub")
      .emit("i32.const", hi - lo).emit("i32.gt_u")
      .emit("local.get", flag).emit("i32.or").emit("local.set", flag);
  };
  const panelOut = (panel: Local, step: Local) =>
    f.emit("local.get", dst).emit("local.get", panel)
      .emit("local.get", panelBytes).emit("i32.mul").emit("i32.add")
      .emit("i32.const", s.headerBytes).emit("i32.add")
      .emit("local.get", step).emit("i32.const", stepBytes).emit("i32.mul")
      .emit("i32.add").emit("local.set", out);

  // Fast path: per-line pointers advance kStep elements per step.
  const ptr = Array.from({ length: s.tile }, (_, r) => L(`line${r}`));
  // kOff[q] = q·kStride; kOff[kStep] is one whole step.
  const kOff = Array.from({ length: s.kStep + 1 }, (_, q) => L(`kOff${q}`));
  kOff.forEach((v, q) =>
    f.emit("local.get", kStride).emit("i32.const", q).emit("i32.mul")
      .emit("local.set", v)
  );
  forLoop(f, t, () => f.emit("i32.const", 0), fullPanels, 1, () => {
    ptr.forEach((v, r) =>
      f.emit("local.get", src).emit("local.get", t).emit("i32.const", s.tile)
        .emit("i32.mul").emit("i32.const", r).emit("i32.add")
        .emit("local.get", lineStride).emit("i32.mul").emit("i32.add")
        .emit("local.set", v)
    );
    f.emit("i32.const", 0).emit("local.set", st);
    panelOut(t, st);
    const genericSteps = () =>
      forLoop(f, st, () => f.emit("i32.const", 0), fullSteps, 1, () => {
        ptr.forEach((v, r) => {
          kOff.slice(0, s.kStep).forEach((off, q) => {
            f.emit("local.get", v);
            if (q > 0) f.emit("local.get", off).emit("i32.add");
            f.emit(s.load).emit("local.set", x);
            check();
            s.store(f, out, x, r * s.lineBytes + q * s.laneBytes);
          });
          f.emit("local.get", v).emit("local.get", kOff[s.kStep])
            .emit("i32.add").emit("local.set", v);
        });
        f.emit("local.get", out).emit("i32.const", stepBytes).emit("i32.add")
          .emit("local.set", out);
      });
    if (!copiesUnitStrideLines(s)) {
      genericSteps();
      return;
    }
    // f32 lines side by side (W and dY as B, Xᵀ as A): a step's slot is a
    // straight copy of `tile` floats, four per v128.
    f.emit("local.get", lineStride).emit("i32.const", 4).emit("i32.eq");
    f.ifThen(() => {
      forLoop(f, st, () => f.emit("i32.const", 0), fullSteps, 1, () => {
        const bytes = s.tile * 4;
        const copy = (at: number, wide: boolean) =>
          f.emit("local.get", out).emit("local.get", ptr[0])
            .emit(wide ? "v128.load" : "i32.load", { offset: at })
            .emit(wide ? "v128.store" : "i32.store", { offset: at });
        for (let at = 0; at + 16 <= bytes; at += 16) copy(at, true);
        for (let at = bytes - bytes % 16; at < bytes; at += 4) copy(at, false);
        f.emit("local.get", ptr[0]).emit("local.get", kStride)
          .emit("i32.add").emit("local.set", ptr[0]);
        f.emit("local.get", out).emit("i32.const", stepBytes).emit("i32.add")
          .emit("local.set", out);
      });
    }, genericSteps);
  });

  // Checked path for the ragged edge, zero-padding what lies outside.
  const r = L("r"), line = L("line"), k = L("k");
  forLoop(f, t, () => f.emit("i32.const", 0), panels, 1, () => {
    forLoop(f, st, () => f.emit("i32.const", 0), ksteps, 1, () => {
      f.emit("local.get", t).emit("local.get", fullPanels).emit("i32.ge_u")
        .emit("local.get", st).emit("local.get", fullSteps)
        .emit("i32.ge_u").emit("i32.or");
      f.ifThen(() => {
        panelOut(t, st);
        forLoop(f, r, () => f.emit("i32.const", 0), s.tile, 1, () => {
          f.emit("local.get", t).emit("i32.const", s.tile).emit("i32.mul")
            .emit("local.get", r).emit("i32.add").emit("local.set", line);
          for (let q = 0; q < s.kStep; q++) {
            f.emit("local.get", st).emit("i32.const", s.kStep).emit("i32.mul")
              .emit("i32.const", q).emit("i32.add").emit("local.set", k);
            f.emit("i32.const", 0).emit("local.set", x);
            f.emit("local.get", line).emit("local.get", lines).emit("i32.lt_u")
              .emit("local.get", k).emit("local.get", kLen).emit("i32.lt_u")
              .emit("i32.and");
            f.ifThen(() => {
              f.emit("local.get", src).emit("local.get", line)
                .emit("local.get", lineStride).emit("i32.mul").emit("i32.add")
                .emit("local.get", k).emit("local.get", kStride)
                .emit("i32.mul").emit("i32.add").emit(s.load)
                .emit("local.set", x);
            });
            check();
            s.store(f, out, x, q * s.laneBytes);
          }
          f.emit("local.get", out).emit("i32.const", s.lineBytes)
            .emit("i32.add").emit("local.set", out);
        });
      });
    });
  });
  return { flag, panels, ksteps, panelBytes };
}

/**
 * Relaxed B panel headers: −offset·Σ_k b per column, summed from the packed
 * panel (zero padding adds nothing) four columns per vector.
 */
function emitColumnSums(
  f: FunctionEmitter,
  p: GemmParams,
  { panels, ksteps, panelBytes }: PackLocals,
): void {
  const { bHeaderBytes } = gemmLayout(p);
  const dst = f.param("dst");
  const L = (n: string) => f.local("i32", n);
  const j = L("sumPanel"), s = L("sumStep"), at = L("sumAt");
  const sums = Array.from(
    { length: p.nr / 4 },
    (_, g) => f.local("v128", `sum${g}`),
  );
  forLoop(f, j, () => f.emit("i32.const", 0), panels, 1, () => {
    for (const v of sums) {
      f.emit("v128.const", new Uint8Array(16)).emit("local.set", v);
    }
    f.emit("local.get", dst).emit("local.get", j).emit("local.get", panelBytes)
      .emit("i32.mul").emit("i32.add").emit("i32.const", bHeaderBytes)
      .emit("i32.add").emit("local.set", at);
    forLoop(f, s, () => f.emit("i32.const", 0), ksteps, 1, () => {
      sums.forEach((v, g) => {
        f.emit("local.get", v).emit("local.get", at)
          .emit("v128.load", { offset: 16 * g })
          .emit("i16x8.extadd_pairwise_i8x16_s")
          .emit("i32x4.extadd_pairwise_i16x8_s").emit("i32x4.add")
          .emit("local.set", v);
      });
      f.emit("local.get", at).emit("i32.const", p.nr * 4).emit("i32.add")
        .emit("local.set", at);
    });
    f.emit("local.get", dst).emit("local.get", j).emit("local.get", panelBytes)
      .emit("i32.mul").emit("i32.add").emit("local.set", at);
    sums.forEach((v, g) => {
      f.emit("local.get", at).emit("local.get", v)
        .emit("i32.const", -offsetOfA(p)).emit("i32x4.splat").emit("i32x4.mul")
        .emit("v128.store", { offset: 16 * g });
    });
  });
}
