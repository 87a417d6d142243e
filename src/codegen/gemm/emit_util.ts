/**
 * Small control-flow and local helpers shared by the GEMM and packing
 * generators.
 * @module
 */

import type { FunctionEmitter, Local, ValType } from "../wasm/mod.ts";

/**
 * Emits `for (i = from; i < to; i += step) body()`, with `from` pushed by
 * `init`; `to` is a local or a constant.
 */
export function forLoop(
  f: FunctionEmitter,
  i: Local,
  init: () => void,
  to: Local | number,
  step: number,
  body: () => void,
): void {
  init();
  f.emit("local.set", i);
  f.block((exit) => {
    f.loop((next) => {
      f.emit("local.get", i);
      if (typeof to === "number") f.emit("i32.const", to);
      else f.emit("local.get", to);
      f.emit("i32.ge_s").emit("br_if", exit);
      body();
      f.emit("local.get", i).emit("i32.const", step).emit("i32.add")
        .emit("local.set", i).emit("br", next);
    });
  });
}

/**
 * Declares a local once per function: code emitted several times (a tile per
 * edge case, a step per unrolled k) reuses the same registers.
 */
export function localOnce(
  f: FunctionEmitter,
  type: ValType,
  name: string,
): Local {
  return f.locals.find((l) => l.name === name) ?? f.local(type, name);
}
