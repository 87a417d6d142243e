/**
 * f32x4 approximations of exp, log, erf, the normal CDF Φ and tanh, emitted
 * inline into kernels. Each emitter reads a v128 local and pushes the v128
 * result; all lanes are computed branch-free and blended with bitselect.
 *
 * Coefficients were fitted by relative-weighted least squares on Chebyshev
 * nodes against mpmath (30 digits), rounded to f32, and chosen by their error
 * under f32 Horner evaluation. Measured maximum errors of the emitted code
 * (dense sweeps in tests/codegen/f32/math_test.ts against double precision,
 * `src/ops/erf.ts` for erf; an ulp is that of the exact result):
 * - exp: 0.98 ulp on [−87, 88]; x < −87 flushes to 0 (e^−87 ≈ 1.6e−38).
 * - log: 0.78 ulp on positive normal inputs.
 * - erf: 1.10 ulp on [−10, 10] (1.10 for |x| < 1, 0.92 beyond).
 * - Φ (hence GELU): 5.4e−7 relative down to x = −5.5 (the end of the double
 *   reference's own accuracy). It is 1 − ½erfc or ½erfc, never 1 + erf, so
 *   negative x keeps its relative accuracy; the erfc fit bounds it.
 * - tanh: 1.49 ulp on [−12, 12].
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import { f32x4Const, horner, i32x4Const, temp } from "./emit.ts";

// Cody–Waite split of ln 2: LN2_HI has 9 significant bits, so n·LN2_HI is
// exact for |n| ≤ 128 and the range reduction loses nothing.
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const LOG2E = 1.44269504088896341;
// Cephes expf: e^r = 1 + r + r²·P(r) on |r| ≤ ln2/2.
const EXP_P = [
  5.0000001201e-1,
  1.6666665459e-1,
  4.1665795894e-2,
  8.3334519073e-3,
  1.3981999507e-3,
  1.9875691500e-4,
];
// Below this e^x is within a few ulps of the smallest normal; flush to 0.
const EXP_MIN = -87;
const EXP_MAX = 88;
// erf(x) = x + x·Q(x²) on |x| ≤ 1: the exact leading x keeps the unrepresentable
// 2/√π out of the main term. Fitted one coefficient at a time, each rounded to
// f32 before the rest were refitted.
const ERF_SMALL = [
  0.12837916612625122,
  -0.3761262893676758,
  0.11283617466688156,
  -0.026855066418647766,
  0.005190575961023569,
  -0.0008029054151847959,
  7.913859735708684e-05,
];
// erfc(t)·e^(t²) as a polynomial in u = 1/t − 0.3 on 1 ≤ t ≤ 10; beyond 10,
// e^(−t²) flushes to 0 and so does erfc.
const ERFC_TAIL = [
  0.16248996555805206,
  0.5012529492378235,
  -0.1752750277519226,
  -0.0731695219874382,
  0.18352317810058594,
  -0.12855052947998047,
  -0.054604850709438324,
  0.24608640372753143,
  -0.298017293214798,
  0.18473412096500397,
  -0.048734065145254135,
];
const ERFC_TAIL_SHIFT = 0.3;
// tanh(x)/x as a polynomial in x² on |x| ≤ 0.625; above, (1 − e)/(1 + e)
// with e = e^(−2|x|) ≤ 0.29 has no cancellation.
const TANH_SMALL = [
  1.0,
  -0.33333274722099304,
  0.13331365585327148,
  -0.05373586341738701,
  0.020630307495594025,
  -0.005697522312402725,
];
const TANH_SPLIT = 0.625;
const SIGN_BIT = -0x80000000;
// musl logf: ln2 split with 17 significant bits in the high part (k·hi is
// exact for |k| ≤ 127) and the minimax coefficients of its R(z).
const LOG_LN2_HI = 6.9313812256e-01;
const LOG_LN2_LO = 9.0580006145e-06;
const LOG_LG = [
  0.66666662693,
  0.40000972152,
  0.28498786688,
  0.24279078841,
];

/** Stores the value on the stack in a fresh v128 local. */
function keep(f: FunctionEmitter, hint: string): Local {
  const l = temp(f, "v128", hint);
  f.emit("local.set", l);
  return l;
}

/**
 * Pushes e^(x + lo). Accurate for x ≤ 88 (saturates above); x < −87 gives 0.
 * `lo`, when given, is a small low-order part of the argument (|lo| ≪ 1) that
 * joins after the exact range reduction, so it is not rounded into x.
 */
export function emitExp(f: FunctionEmitter, x: Local, lo?: Local): void {
  f.emit("local.get", x);
  f32x4Const(f, EXP_MAX);
  f.emit("f32x4.min");
  f32x4Const(f, EXP_MIN);
  f.emit("f32x4.max");
  const xc = keep(f, "expX");
  f.emit("local.get", xc);
  f32x4Const(f, LOG2E);
  f.emit("f32x4.mul").emit("f32x4.nearest");
  const n = keep(f, "expN");
  f.emit("local.get", xc).emit("local.get", n);
  f32x4Const(f, LN2_HI);
  f.emit("f32x4.mul").emit("f32x4.sub").emit("local.get", n);
  f32x4Const(f, LN2_LO);
  f.emit("f32x4.mul").emit("f32x4.sub");
  if (lo) f.emit("local.get", lo).emit("f32x4.add");
  const r = keep(f, "expR");
  horner(f, r, EXP_P);
  f.emit("local.get", r).emit("f32x4.mul").emit("local.get", r)
    .emit("f32x4.mul").emit("local.get", r).emit("f32x4.add");
  f32x4Const(f, 1);
  f.emit("f32x4.add");
  // 2^n built in the exponent field; n ∈ [−126, 127] keeps it normal.
  f.emit("local.get", n).emit("i32x4.trunc_sat_f32x4_s");
  i32x4Const(f, 127);
  f.emit("i32x4.add").emit("i32.const", 23).emit("i32x4.shl")
    .emit("f32x4.mul");
  f.emit("local.get", x);
  f32x4Const(f, EXP_MIN);
  f.emit("f32x4.lt").emit("v128.andnot");
}

/** Pushes ln x for positive normal finite x. */
export function emitLog(f: FunctionEmitter, x: Local): void {
  // x = 2^k·m with m ∈ [1, 2), then m halved (k + 1) when above √2, so that
  // f = m − 1 ∈ [−0.29, 0.41] is exact and ln(1 + f) is f minus small
  // corrections (the fdlibm/musl logf scheme, whose coefficients these are).
  f.emit("local.get", x);
  i32x4Const(f, 0x007fffff);
  f.emit("v128.and");
  i32x4Const(f, 0x3f800000);
  f.emit("v128.or");
  const m0 = keep(f, "logM");
  f.emit("local.get", m0);
  f32x4Const(f, Math.SQRT2);
  f.emit("f32x4.gt");
  const big = keep(f, "logBig");
  f.emit("local.get", m0);
  f32x4Const(f, 0.5);
  f.emit("f32x4.mul").emit("local.get", m0).emit("local.get", big)
    .emit("v128.bitselect");
  f32x4Const(f, 1);
  f.emit("f32x4.sub");
  const fr = keep(f, "logF");
  f.emit("local.get", x).emit("i32.const", 23).emit("i32x4.shr_s");
  i32x4Const(f, 127);
  f.emit("i32x4.sub").emit("local.get", big).emit("i32x4.sub")
    .emit("f32x4.convert_i32x4_s");
  const k = keep(f, "logK");
  f.emit("local.get", fr);
  f32x4Const(f, 2);
  f.emit("local.get", fr).emit("f32x4.add").emit("f32x4.div");
  const s = keep(f, "logS");
  f.emit("local.get", s).emit("local.get", s).emit("f32x4.mul");
  const z = keep(f, "logZ");
  f.emit("local.get", z).emit("local.get", z).emit("f32x4.mul");
  const w = keep(f, "logW");
  // R = z·(Lg1 + w·Lg3) + w·(Lg2 + w·Lg4)
  horner(f, w, [LOG_LG[0], LOG_LG[2]]);
  f.emit("local.get", z).emit("f32x4.mul");
  horner(f, w, [LOG_LG[1], LOG_LG[3]]);
  f.emit("local.get", w).emit("f32x4.mul").emit("f32x4.add");
  const R = keep(f, "logR");
  f.emit("local.get", fr).emit("local.get", fr).emit("f32x4.mul");
  f32x4Const(f, 0.5);
  f.emit("f32x4.mul");
  const hfsq = keep(f, "logHfsq");
  // k·ln2_hi − ((hfsq − (s·(hfsq + R) + k·ln2_lo)) − f)
  f.emit("local.get", k);
  f32x4Const(f, LOG_LN2_HI);
  f.emit("f32x4.mul").emit("local.get", hfsq).emit("local.get", s)
    .emit("local.get", hfsq).emit("local.get", R).emit("f32x4.add")
    .emit("f32x4.mul").emit("local.get", k);
  f32x4Const(f, LOG_LN2_LO);
  f.emit("f32x4.mul").emit("f32x4.add").emit("f32x4.sub")
    .emit("local.get", fr).emit("f32x4.sub").emit("f32x4.sub");
}

/** The pieces erf and Φ are assembled from. */
interface ErfParts {
  /** erf(|z|), valid where `small` is set. */
  readonly erfSmall: Local;
  /** erfc(|z|), valid where `small` is clear. */
  readonly erfc: Local;
  /** All-ones lanes where |z| < 1. */
  readonly small: Local;
}

/**
 * Pushes e^(−c·x²), c = 1 or ½. x = hi + lo with hi holding 12 significant
 * bits, so c·hi² is exact and only the small c·lo·(x + hi) is rounded: a
 * plainly rounded x² (up to 200 for erfc) would cost ~1e−5 relative.
 */
export function emitExpMinusSquare(
  f: FunctionEmitter,
  x: Local,
  c: 1 | 0.5,
): void {
  f.emit("local.get", x);
  i32x4Const(f, -0x1000);
  f.emit("v128.and");
  const hi = keep(f, "sqHi");
  f32x4Const(f, -c);
  f.emit("local.get", hi).emit("f32x4.mul").emit("local.get", hi)
    .emit("f32x4.mul");
  const big = keep(f, "sqBig");
  f32x4Const(f, -c);
  f.emit("local.get", x).emit("local.get", hi).emit("f32x4.sub")
    .emit("f32x4.mul").emit("local.get", x).emit("local.get", hi)
    .emit("f32x4.add").emit("f32x4.mul");
  const small = keep(f, "sqLo");
  emitExp(f, big, small);
}

/** erf(|z|), erfc(|z|) and the region mask, for z = x·√c. */
function erfParts(
  f: FunctionEmitter,
  z: Local,
  x: Local,
  c: 1 | 0.5,
): ErfParts {
  f.emit("local.get", z).emit("f32x4.abs");
  const a = keep(f, "erfA");
  f.emit("local.get", a).emit("local.get", a).emit("f32x4.mul");
  const a2 = keep(f, "erfA2");
  horner(f, a2, ERF_SMALL);
  f.emit("local.get", a).emit("f32x4.mul").emit("local.get", a)
    .emit("f32x4.add");
  const erfSmall = keep(f, "erfSmall");
  f.emit("local.get", a);
  f32x4Const(f, 1);
  f.emit("f32x4.lt");
  const small = keep(f, "erfIsSmall");
  // The tail costs twice the small branch and most GELU inputs have
  // |x| < √2, so vectors with every lane small skip it. There erfc keeps a
  // stale value, which the callers' bitselect on `small` never picks.
  const erfc = temp(f, "v128", "erfc");
  f.emit("local.get", small).emit("i32x4.all_true").emit("i32.eqz");
  f.ifThen(() => {
    f32x4Const(f, 1);
    f.emit("local.get", a).emit("f32x4.div");
    f32x4Const(f, ERFC_TAIL_SHIFT);
    f.emit("f32x4.sub");
    const u = keep(f, "erfU");
    horner(f, u, ERFC_TAIL);
    emitExpMinusSquare(f, x, c);
    f.emit("f32x4.mul").emit("local.set", erfc);
  });
  return { erfSmall, erfc, small };
}

/** Pushes erf(z). */
export function emitErf(f: FunctionEmitter, z: Local): void {
  const { erfSmall, erfc, small } = erfParts(f, z, z, 1);
  f.emit("local.get", erfSmall);
  f32x4Const(f, 1);
  f.emit("local.get", erfc).emit("f32x4.sub").emit("local.get", small)
    .emit("v128.bitselect");
  f.emit("local.get", z);
  i32x4Const(f, SIGN_BIT);
  f.emit("v128.and").emit("v128.or");
}

/** Pushes Φ(x) = (1 + erf(x/√2))/2, the standard normal CDF. */
export function emitPhi(f: FunctionEmitter, x: Local): void {
  f.emit("local.get", x);
  f32x4Const(f, Math.SQRT1_2);
  f.emit("f32x4.mul");
  const z = keep(f, "phiZ");
  const { erfSmall, erfc, small } = erfParts(f, z, x, 0.5);
  // |z| < 1: ½ + ½·erf(z), no cancellation since |erf(z)| < 0.85.
  f32x4Const(f, 0.5);
  f.emit("local.get", erfSmall).emit("local.get", z);
  i32x4Const(f, SIGN_BIT);
  f.emit("v128.and").emit("v128.or");
  f32x4Const(f, 0.5);
  f.emit("f32x4.mul").emit("f32x4.add");
  // |z| ≥ 1: ½·erfc(|z|) for z < 0, 1 − ½·erfc(z) for z > 0.
  f.emit("local.get", erfc);
  f32x4Const(f, 0.5);
  f.emit("f32x4.mul");
  const half = keep(f, "phiHalfErfc");
  f32x4Const(f, 1);
  f.emit("local.get", half).emit("f32x4.sub").emit("local.get", half)
    .emit("local.get", z);
  f32x4Const(f, 0);
  f.emit("f32x4.gt").emit("v128.bitselect");
  f.emit("local.get", small).emit("v128.bitselect");
}

/** Pushes tanh(x). */
export function emitTanh(f: FunctionEmitter, x: Local): void {
  f.emit("local.get", x).emit("local.get", x).emit("f32x4.mul");
  const x2 = keep(f, "tanhX2");
  horner(f, x2, TANH_SMALL);
  f.emit("local.get", x).emit("f32x4.mul");
  f.emit("local.get", x).emit("f32x4.abs");
  const a = keep(f, "tanhA");
  f32x4Const(f, -2);
  f.emit("local.get", a).emit("f32x4.mul");
  const t = keep(f, "tanhT");
  emitExp(f, t);
  const e = keep(f, "tanhE");
  f32x4Const(f, 1);
  f.emit("local.get", e).emit("f32x4.sub");
  f32x4Const(f, 1);
  f.emit("local.get", e).emit("f32x4.add").emit("f32x4.div");
  f.emit("local.get", x);
  i32x4Const(f, SIGN_BIT);
  f.emit("v128.and").emit("v128.or");
  f.emit("local.get", a);
  f32x4Const(f, TANH_SPLIT);
  f.emit("f32x4.lt").emit("v128.bitselect");
}
