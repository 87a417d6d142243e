/**
 * `--threads N`, shared by the training commands: threads per GEMM call of
 * each training step (the engine's worker threads, `runtime/engine/threads.ts`).
 *
 * @module
 */

import { MAX_THREADS } from "../../runtime/engine/threads.ts";
import type { OptionSpec, ParsedArgs } from "./args.ts";
import { UsageError } from "./args.ts";

/** The option's spec. */
export const THREADS_OPTION: Readonly<Record<string, OptionSpec>> = {
  threads: {
    kind: "int",
    value: "N",
    help:
      `threads per GEMM of each training step, 1–${MAX_THREADS} (default 1; evaluation runs on one)`,
  },
};

/** The validated `--threads` value. */
export function threadsSetting(args: ParsedArgs): number {
  const threads = (args.options.get("threads") as number | undefined) ?? 1;
  if (threads > MAX_THREADS) {
    throw new UsageError(
      `Option '--threads' must be an integer in [1, ${MAX_THREADS}], got ${threads}.`,
    );
  }
  return threads;
}
