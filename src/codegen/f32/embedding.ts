/**
 * Embedding lookup and its gradient.
 *
 * Forward `embedding_fwd(table, ids, out, count, width, vocab)`:
 * out[i, :] = table[ids[i], :] for i < count.
 * Backward `embedding_bwd(dout, ids, dtable, count, width, vocab)`:
 * dtable[ids[i], :] += dout[i, :], in order of i, so duplicate ids accumulate
 * deterministically; the caller zeroes dtable.
 *
 * table, dtable: f32 [vocab, width]; ids: i32 [count]; out, dout: f32
 * [count, width]. An id outside [0, vocab) traps (`unreachable`) instead of
 * touching memory outside the table.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  countedLoop,
  type F32Module,
  type GenerateOptions,
  laneLoop,
  load,
  store,
  temp,
} from "./emit.ts";

/** Signature of `embedding_fwd` and `embedding_bwd`. */
export type EmbeddingKernel = (
  src: number,
  ids: number,
  dst: number,
  count: number,
  width: number,
  vocab: number,
) => void;

/** Generates `embedding_fwd` (gather) or `embedding_bwd` (scatter-add). */
export function generateEmbedding(
  direction: "fwd" | "bwd",
  options: GenerateOptions = {},
): F32Module<EmbeddingKernel> {
  const [src, dst] = direction === "fwd"
    ? ["table", "out"]
    : ["dout", "dtable"];
  return buildKernel<EmbeddingKernel>(
    `embedding_${direction}`,
    [
      [src, "i32"],
      ["ids", "i32"],
      [dst, "i32"],
      ["count", "i32"],
      ["width", "i32"],
      ["vocab", "i32"],
    ],
    [],
    options,
    (f) => emitEmbedding(f, direction, f.param(src), f.param(dst)),
  );
}

function emitEmbedding(
  f: FunctionEmitter,
  direction: "fwd" | "bwd",
  src: Local,
  dst: Local,
): void {
  const ids = f.param("ids");
  const i = temp(f, "i32", "i");
  const off = temp(f, "i32", "off");
  const bytes = temp(f, "i32", "rowBytes");
  const tableRow = temp(f, "i32", "tableRow");
  const denseRow = temp(f, "i32", "denseRow");
  f.emit("local.get", f.param("width")).emit("i32.const", 2).emit("i32.shl")
    .emit("local.set", bytes);
  countedLoop(f, i, f.param("count"), 1, () => {
    const id = temp(f, "i32", "id");
    f.emit("local.get", ids).emit("local.get", i).emit("i32.const", 2)
      .emit("i32.shl").emit("i32.add").emit("i32.load").emit("local.tee", id)
      .emit("local.get", f.param("vocab")).emit("i32.ge_u");
    f.ifThen(() => f.emit("unreachable"));
    const table = direction === "fwd" ? src : dst;
    f.emit("local.get", table).emit("local.get", id).emit("local.get", bytes)
      .emit("i32.mul").emit("i32.add").emit("local.set", tableRow);
    f.emit("local.get", direction === "fwd" ? dst : src).emit("local.get", i)
      .emit("local.get", bytes).emit("i32.mul").emit("i32.add")
      .emit("local.set", denseRow);
    laneLoop(f, off, bytes, (lanes) => {
      if (direction === "fwd") {
        store(f, lanes, denseRow, off, () => load(f, lanes, tableRow, off));
      } else {
        store(f, lanes, tableRow, off, () => {
          load(f, lanes, tableRow, off);
          load(f, lanes, denseRow, off);
          f.emit("f32x4.add");
        });
      }
    });
  });
}
