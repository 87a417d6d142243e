/**
 * What the generated packers (`pack_wasm.ts`) do per operand and variant:
 * panel height, k-step, slot sizes, source element, and how a value is
 * transformed and stored (the layouts of `pack.ts`).
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import { localOnce } from "./emit_util.ts";
import { checksARange } from "./pack.ts";
import { aRangeOf, gemmLayout, type GemmParams, offsetOfA } from "./params.ts";

type Load = "i32.load8_s" | "i32.load16_s" | "i32.load";

/** How one operand of one variant is packed. */
export interface PackSpec {
  /** Lines per panel: mr for A, nr for B. */
  readonly tile: number;
  /** Reduction elements per k-step. */
  readonly kStep: number;
  /** Bytes one line takes per k-step. */
  readonly lineBytes: number;
  /** Bytes before each panel's data (B column sums for relaxed). */
  readonly headerBytes: number;
  /** log2 of the source element size. */
  readonly elemShift: number;
  /** Source load, sign-extending to i32 (f32 is copied as its bits). */
  readonly load: Load;
  /** Stores value `x` (a local) at byte `out + at`, transformed as the variant needs. */
  readonly store: (
    f: FunctionEmitter,
    out: Local,
    x: Local,
    at: number,
  ) => void;
  /** Bytes between consecutive k values inside a line slot. */
  readonly laneBytes: number;
  /** Inclusive range the values must lie in, if checked. */
  readonly range?: readonly [number, number];
  /** Whether to return max |value| (s16s8 A, for the K limit). */
  readonly maxAbs?: boolean;
}

const storeAs = (
  op: "i32.store8" | "i32.store16" | "i32.store",
) =>
(f: FunctionEmitter, out: Local, x: Local, at: number) => {
  f.emit("local.get", out).emit("local.get", x).emit(op, { offset: at });
};

/** The packing of A for `p`: rows are lines. */
export function aSpec(p: GemmParams): PackSpec {
  const { kStep, aRowStepBytes } = gemmLayout(p);
  const base = {
    tile: p.mr,
    kStep,
    lineBytes: aRowStepBytes,
    headerBytes: 0,
  };
  if (p.family === "f32") {
    return {
      ...base,
      elemShift: 2,
      load: "i32.load",
      store: storeAs("i32.store"),
      laneBytes: 4,
    };
  }
  const source = p.family === "s16s8"
    ? { elemShift: 1, load: "i32.load16_s" as const }
    : { elemShift: 0, load: "i32.load8_s" as const };
  const range = checksARange(p) ? aRangeOf(p) : undefined;
  switch (p.variant) {
    case "relaxed":
      return {
        ...base,
        ...source,
        range,
        laneBytes: 1,
        // lo = min(a + 127, 127) at lane q, hi = a + 127 − lo at lane 4 + q.
        store: (f, out, x, at) => {
          const w = localOnce(f, "i32", "packW");
          const lo = localOnce(f, "i32", "packLo");
          f.emit("local.get", x).emit("i32.const", 127).emit("i32.add")
            .emit("local.tee", w).emit("i32.const", 127)
            .emit("local.get", w).emit("i32.const", 127).emit("i32.lt_s")
            .emit("select").emit("local.set", lo);
          f.emit("local.get", out).emit("local.get", lo)
            .emit("i32.store8", { offset: at });
          f.emit("local.get", out).emit("local.get", w).emit("local.get", lo)
            .emit("i32.sub").emit("i32.store8", { offset: at + 4 });
        },
      };
    case "relaxed7":
    case "relaxed8":
      return {
        ...base,
        ...source,
        range,
        laneBytes: 1,
        store: (f, out, x, at) => {
          f.emit("local.get", out).emit("local.get", x)
            .emit("i32.const", offsetOfA(p)).emit("i32.add")
            .emit("i32.store8", { offset: at });
        },
      };
    default:
      return {
        ...base,
        ...source,
        maxAbs: p.family === "s16s8",
        laneBytes: 2,
        store: storeAs("i32.store16"),
      };
  }
}

/** The packing of B for `p`: columns are lines. */
export function bSpec(p: GemmParams): PackSpec {
  const { kStep, bHeaderBytes } = gemmLayout(p);
  const base = { tile: p.nr, kStep, lineBytes: 4, headerBytes: bHeaderBytes };
  if (p.family === "f32") {
    return {
      ...base,
      elemShift: 2,
      load: "i32.load",
      store: storeAs("i32.store"),
      laneBytes: 4,
    };
  }
  const narrow = p.variant === "dot16";
  return {
    ...base,
    elemShift: 0,
    load: "i32.load8_s",
    store: storeAs(narrow ? "i32.store16" : "i32.store8"),
    laneBytes: narrow ? 2 : 1,
  };
}

/** Whether a spec is a plain 4-byte copy, so unit-stride lines can move as v128s. */
export function copiesUnitStrideLines(s: PackSpec): boolean {
  return s.elemShift === 2 && s.kStep === 1 && s.lineBytes === 4 &&
    !s.range && !s.maxAbs;
}
