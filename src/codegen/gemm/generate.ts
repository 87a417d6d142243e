/**
 * The GEMM module generator shared by all families: one exported function
 * `gemm` that walks row blocks → B column panels → row tiles, runs the
 * family's inner step over all k-steps on an mr×nr register tile, then applies
 * the fused epilogue: i32 → f32, multiply by the power-of-two scale, add bias,
 * store (full tiles straight to C, edge tiles via a scratch tile).
 *
 * Exported signature:
 * `gemm(a, b, c, m, n, ksteps, ldc, scale: f32, bias, scratch, blockTiles)`
 * - a: packed A tiles, b: packed B panels (see `pack.ts`), c: output (f32 or
 *   i32 per `output`), ldc in elements; bias: f32[n padded to nr] or 0 for none;
 *   scratch: mr·nr·4 bytes private to the caller's thread; blockTiles: row
 *   tiles per cache block (A block reused across all B panels while in L2).
 *
 * The module also exports the generated packers `packA` and `packB`
 * (see `pack_wasm.ts`) and, for f32, the batched product `gemmBatch`
 * (`gemm_batch.ts`).
 * @module
 */

import {
  type FunctionEmitter,
  listFunction,
  type Local,
  ModuleBuilder,
} from "../wasm/mod.ts";
import { forLoop } from "./emit_util.ts";
import {
  checkGemmParams,
  gemmKernelName,
  gemmLayout,
  type GemmParams,
} from "./params.ts";
import { addBatchFunction } from "./gemm_batch.ts";
import { addPackFunctions } from "./pack_wasm.ts";
import { emitTile } from "./tile.ts";

/** A generated GEMM module. */
export interface GemmModule {
  /** Kernel name, see {@link gemmKernelName}. */
  readonly name: string;
  /** The parameters it was generated from. */
  readonly params: GemmParams;
  /** Module binary; imports `env.memory`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** WAT-like listing of the `gemm` function. */
  listing(): string;
}

/** Memory limits the module declares for its imported `env.memory`. */
export const GEMM_MEMORY_MAX_PAGES = 65536;

/** Generates the GEMM module for `params`; `shared` selects a shared memory import. */
export function generateGemm(params: GemmParams, shared = false): GemmModule {
  checkGemmParams(params);
  const name = gemmKernelName(params);
  const mb = new ModuleBuilder();
  mb.importMemory("env", "memory", {
    initial: 1,
    maximum: GEMM_MEMORY_MAX_PAGES,
    shared,
  });
  const fn = mb.addFunction(
    name,
    [
      ["a", "i32"],
      ["b", "i32"],
      ["c", "i32"],
      ["m", "i32"],
      ["n", "i32"],
      ["ksteps", "i32"],
      ["ldc", "i32"],
      ["scale", "f32"],
      ["bias", "i32"],
      ["scratch", "i32"],
      ["blockTiles", "i32"],
    ],
    [],
    (f) => emitDriver(f, params),
  );
  mb.exportFunction("gemm", fn);
  const packs = addPackFunctions(mb, params);
  if (params.family === "f32") {
    addBatchFunction(mb, params, { gemm: fn, ...packs });
  }
  const bytes = mb.encode();
  return { name, params, bytes, listing: () => listFunction(mb.emitterOf(fn)) };
}

function emitDriver(f: FunctionEmitter, p: GemmParams): void {
  const { aRowStepBytes, bHeaderBytes } = gemmLayout(p);
  const P = (n: string) => f.param(n);
  const [a, b, c, m, n, ksteps, ldc, bias, blockTiles] = [
    "a",
    "b",
    "c",
    "m",
    "n",
    "ksteps",
    "ldc",
    "bias",
    "blockTiles",
  ].map(P);
  const L = (name: string) => f.local("i32", name);
  const aTileBytes = L("aTileBytes"), bPanelBytes = L("bPanelBytes");
  const mTiles = L("mTiles"), nTiles = L("nTiles");
  const t0 = L("t0"), t1 = L("t1"), j = L("j"), t = L("t");
  const ctx = {
    aPtr: L("aPtr"),
    bPtr: L("bPtr"),
    k: L("k"),
    rowsLeft: L("rowsLeft"),
    colsLeft: L("colsLeft"),
    cTile: L("cTile"),
  };
  const ceilDiv = (x: Local, d: number) =>
    f.emit("local.get", x).emit("i32.const", d - 1).emit("i32.add")
      .emit("i32.const", d).emit("i32.div_u");

  f.emit("local.get", ksteps).emit("i32.const", p.mr * aRowStepBytes)
    .emit("i32.mul").emit("local.set", aTileBytes);
  f.emit("local.get", ksteps).emit("i32.const", p.nr * 4).emit("i32.mul")
    .emit("i32.const", bHeaderBytes).emit("i32.add").emit(
      "local.set",
      bPanelBytes,
    );
  ceilDiv(m, p.mr).emit("local.set", mTiles);
  ceilDiv(n, p.nr).emit("local.set", nTiles);

  forLoop(f, t0, () => f.emit("i32.const", 0), mTiles, 1, () => {
    // t1 = min(t0 + blockTiles, mTiles); the loop then resumes at t1.
    f.emit("local.get", t0).emit("local.get", blockTiles).emit("i32.add")
      .emit("local.tee", t1).emit("local.get", mTiles)
      .emit("local.get", t1).emit("local.get", mTiles).emit("i32.lt_s")
      .emit("select").emit("local.set", t1);
    forLoop(f, j, () => f.emit("i32.const", 0), nTiles, 1, () => {
      forLoop(f, t, () => f.emit("local.get", t0), t1, 1, () => {
        f.emit("local.get", a).emit("local.get", t).emit(
          "local.get",
          aTileBytes,
        )
          .emit("i32.mul").emit("i32.add").emit("local.set", ctx.aPtr);
        f.emit("local.get", b).emit("local.get", j).emit(
          "local.get",
          bPanelBytes,
        )
          .emit("i32.mul").emit("i32.add").emit("local.set", ctx.bPtr);
        f.emit("local.get", m).emit("local.get", t).emit("i32.const", p.mr)
          .emit("i32.mul").emit("i32.sub").emit("local.set", ctx.rowsLeft);
        f.emit("local.get", n).emit("local.get", j).emit("i32.const", p.nr)
          .emit("i32.mul").emit("i32.sub").emit("local.set", ctx.colsLeft);
        // cTile = c + 4·(t·mr·ldc + j·nr)
        f.emit("local.get", c).emit("local.get", t).emit("i32.const", p.mr)
          .emit("i32.mul").emit("local.get", ldc).emit("i32.mul")
          .emit("local.get", j).emit("i32.const", p.nr).emit("i32.mul")
          .emit("i32.add").emit("i32.const", 2).emit("i32.shl").emit("i32.add")
          .emit("local.set", ctx.cTile);
        emitTile(f, p, ctx, j, bias);
      });
    });
    f.emit("local.get", t1).emit("i32.const", 1).emit("i32.sub")
      .emit("local.set", t0);
  });
}
