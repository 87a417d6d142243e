/**
 * One register tile of the GEMM driver: accumulators, the (unrolled) k loop
 * over the family's inner step, and the epilogue that scales, adds bias and
 * stores — full tiles straight to C, edge tiles through a per-thread scratch
 * tile so nothing outside C is ever written.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import { forLoop, localOnce } from "./emit_util.ts";
import { maddStep, mulAddStep } from "./gemm_f32.ts";
import { dot16Step, oneDotStep, relaxedStep } from "./gemm_s8s8.ts";
import type { InnerStep } from "./inner_step.ts";
import { gemmLayout, type GemmParams, type GemmVariant } from "./params.ts";

const STEPS: Readonly<Record<GemmVariant, InnerStep>> = {
  dot16: dot16Step,
  relaxed: relaxedStep,
  relaxed7: oneDotStep,
  relaxed8: oneDotStep,
  madd: maddStep,
  muladd: mulAddStep,
};

/** Locals the driver sets before each tile. */
export interface TileLocals {
  /** This tile's packed A, advanced through k by the loop. */
  aPtr: Local;
  /** This column panel's packed B, advanced likewise. */
  bPtr: Local;
  /** k-steps left. */
  k: Local;
  /** Rows and columns of C from this tile's corner to the edge. */
  rowsLeft: Local;
  colsLeft: Local;
  /** Byte address of the tile's corner in C. */
  cTile: Local;
}

/**
 * Emits one mr×nr register tile: accumulator init (zero, or the B panel header
 * for the offset-corrected relaxed variants), the k loop unrolled `kUnroll`
 * times with a one-step remainder loop, and the fused epilogue.
 */
export function emitTile(
  f: FunctionEmitter,
  p: GemmParams,
  ctx: TileLocals,
  j: Local,
  bias: Local,
): void {
  const layout = gemmLayout(p);
  const groups = p.nr / 4;
  const tileId = (r: number, g: number) => `acc_${r}_${g}`;
  const acc = Array.from(
    { length: p.mr },
    (_, r) =>
      Array.from(
        { length: groups },
        (_, g) => localOnce(f, "v128", tileId(r, g)),
      ),
  );
  const bv = Array.from(
    { length: groups },
    (_, g) => localOnce(f, "v128", `b${g}`),
  );
  const splat = localOnce(f, "v128", "splat");
  const { aPtr, bPtr, k } = ctx;

  if (layout.bHeaderBytes > 0) {
    bv.forEach((v, g) =>
      f.emit("local.get", bPtr).emit("v128.load", { offset: 16 * g })
        .emit("local.set", v)
    );
    for (const row of acc) {
      row.forEach((x, g) => f.emit("local.get", bv[g]).emit("local.set", x));
    }
    f.emit("local.get", bPtr).emit("i32.const", layout.bHeaderBytes)
      .emit("i32.add").emit("local.set", bPtr);
  } else {
    for (const row of acc) {
      for (const x of row) {
        f.emit("v128.const", new Uint8Array(16)).emit("local.set", x);
      }
    }
  }
  const aStepBytes = p.mr * layout.aRowStepBytes;
  const bStepBytes = p.nr * 4;
  // `steps` k-steps addressed by constant offsets, then one pointer bump each.
  const body = (steps: number) => {
    for (let u = 0; u < steps; u++) {
      bv.forEach((v, g) =>
        f.emit("local.get", bPtr)
          .emit("v128.load", { offset: u * bStepBytes + 16 * g })
          .emit("local.set", v)
      );
      STEPS[p.variant](f, { acc, bv, aPtr, aOffset: u * aStepBytes, splat });
    }
    f.emit("local.get", aPtr).emit("i32.const", steps * aStepBytes)
      .emit("i32.add").emit("local.set", aPtr);
    f.emit("local.get", bPtr).emit("i32.const", steps * bStepBytes)
      .emit("i32.add").emit("local.set", bPtr);
    f.emit("local.get", k).emit("i32.const", steps).emit("i32.sub")
      .emit("local.set", k);
  };
  const unroll = p.kUnroll ?? 1;
  f.emit("local.get", f.param("ksteps")).emit("local.set", k);
  f.block((done) => {
    if (unroll > 1) {
      f.block((tail) => {
        f.loop((next) => {
          f.emit("local.get", k).emit("i32.const", unroll).emit("i32.lt_s")
            .emit("br_if", tail);
          body(unroll);
          f.emit("br", next);
        });
      });
      f.emit("local.get", k).emit("i32.eqz").emit("br_if", done);
    }
    // ksteps ≥ 1, so without unrolling the first test is skipped.
    f.loop((next) => {
      body(1);
      f.emit("local.get", k).emit("br_if", next);
    });
  });
  emitEpilogue(f, p, { ...ctx, acc, bv, j, bias });
}

interface EpilogueLocals extends TileLocals {
  acc: Local[][];
  bv: Local[];
  j: Local;
  bias: Local;
}

function emitEpilogue(
  f: FunctionEmitter,
  p: GemmParams,
  e: EpilogueLocals,
): void {
  const dst = localOnce(f, "i32", "dst");
  const stride = localOnce(f, "i32", "stride");
  const full = localOnce(f, "i32", "full");
  const scratch = f.param("scratch");
  // full = rowsLeft >= mr && colsLeft >= nr: store straight to C, else via scratch.
  f.emit("local.get", e.rowsLeft).emit("i32.const", p.mr).emit("i32.ge_s")
    .emit("local.get", e.colsLeft).emit("i32.const", p.nr).emit("i32.ge_s")
    .emit("i32.and").emit("local.tee", full);
  f.ifThen(
    () => {
      f.emit("local.get", e.cTile).emit("local.set", dst);
      f.emit("local.get", f.param("ldc")).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", stride);
    },
    () => {
      f.emit("local.get", scratch).emit("local.set", dst);
      f.emit("i32.const", p.nr * 4).emit("local.set", stride);
    },
  );
  const storeAll = (value: (x: Local, g: number) => void) => {
    e.acc.forEach((row, r) => {
      row.forEach((x, g) => {
        f.emit("local.get", dst);
        value(x, g);
        f.emit("v128.store", { offset: 16 * g });
      });
      if (r + 1 < e.acc.length) {
        f.emit("local.get", dst).emit("local.get", stride).emit("i32.add")
          .emit("local.set", dst);
      }
    });
  };
  if (p.output === "i32") {
    storeAll((x) => f.emit("local.get", x));
  } else {
    const isInt = p.family !== "f32";
    const scaleV = localOnce(f, "v128", "scaleV");
    f.emit("local.get", f.param("scale")).emit("f32x4.splat").emit(
      "local.set",
      scaleV,
    );
    const scaled = (x: Local) => {
      f.emit("local.get", x);
      if (isInt) {
        f.emit("f32x4.convert_i32x4_s").emit("local.get", scaleV).emit(
          "f32x4.mul",
        );
      }
    };
    f.emit("local.get", e.bias);
    f.ifThen(
      () => {
        e.bv.forEach((v, g) => {
          // bias + 4·(j·nr) + 16·g
          f.emit("local.get", e.bias).emit("local.get", e.j)
            .emit("i32.const", p.nr * 4).emit("i32.mul").emit("i32.add")
            .emit("v128.load", { offset: 16 * g }).emit("local.set", v);
        });
        storeAll((x, g) => {
          scaled(x);
          f.emit("local.get", e.bv[g]).emit("f32x4.add");
        });
      },
      () => storeAll((x) => scaled(x)),
    );
  }
  f.emit("local.get", full).emit("i32.eqz");
  f.ifThen(() => emitEdgeCopy(f, p, e));
}

/** Copies the valid rows × columns of the scratch tile to C. */
function emitEdgeCopy(
  f: FunctionEmitter,
  p: GemmParams,
  e: EpilogueLocals,
): void {
  const rows = localOnce(f, "i32", "edgeRows");
  const cols = localOnce(f, "i32", "edgeCols");
  const r = localOnce(f, "i32", "er");
  const col = localOnce(f, "i32", "ec");
  const clamp = (x: Local, limit: number, out: Local) =>
    f.emit("local.get", x).emit("i32.const", limit).emit("local.get", x)
      .emit("i32.const", limit).emit("i32.lt_s").emit("select").emit(
        "local.set",
        out,
      );
  clamp(e.rowsLeft, p.mr, rows);
  clamp(e.colsLeft, p.nr, cols);
  forLoop(f, r, () => f.emit("i32.const", 0), rows, 1, () => {
    forLoop(f, col, () => f.emit("i32.const", 0), cols, 1, () => {
      // c[cTile + 4·(r·ldc + col)] = scratch[4·(r·nr + col)]
      f.emit("local.get", e.cTile).emit("local.get", r).emit(
        "local.get",
        f.param("ldc"),
      )
        .emit("i32.mul").emit("local.get", col).emit("i32.add")
        .emit("i32.const", 2).emit("i32.shl").emit("i32.add");
      f.emit("local.get", f.param("scratch")).emit("local.get", r)
        .emit("i32.const", p.nr).emit("i32.mul").emit("local.get", col)
        .emit("i32.add").emit("i32.const", 2).emit("i32.shl").emit("i32.add")
        .emit("i32.load").emit("i32.store");
    });
  });
}
