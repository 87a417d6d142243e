/**
 * The options of `deno task calibrate` for the fine stage of token-wise
 * clipping (`--lsq`, `--lsq-epochs`, `--lsq-lr`) and the run of that stage
 * with a progress line (step, loss, tokens/s, ETA).
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import type { CompileFor, Runner } from "../ptq/calibrate.ts";
import {
  DEFAULT_LSQ_EPOCHS,
  DEFAULT_LSQ_LR,
  fineStage,
  type LsqOptions,
} from "../ptq/lsq_train.ts";
import type { QuantParams } from "../ptq/params.ts";
import {
  numberOption,
  type OptionSpec,
  type ParsedArgs,
  UsageError,
} from "./args.ts";
import { Progress } from "./progress.ts";

/** The fine-stage options, merged into calibrate's table. */
export const LSQ_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  lsq: {
    kind: "flag",
    help:
      "after token clipping, learn every activation quantiser's scale and offset (LSQ+, Adam, cosine schedule) on the calibration set",
  },
  "lsq-epochs": {
    kind: "int",
    value: "N",
    help:
      `epochs of --lsq over the calibration set (default ${DEFAULT_LSQ_EPOCHS})`,
  },
  "lsq-lr": {
    kind: "string",
    value: "X",
    help: `peak Adam learning rate of --lsq (default ${DEFAULT_LSQ_LR})`,
  },
};

/**
 * The fine-stage settings, or `undefined` without `--lsq`; refuses
 * `--lsq-*` without `--lsq`, `--lsq` with another method than
 * token-clipping, and bad values.
 */
export function parseLsqOptions(
  args: ParsedArgs,
  method: string,
  seed: number,
): LsqOptions | undefined {
  const { options } = args;
  if (options.get("lsq") !== true) {
    const stray = ["lsq-epochs", "lsq-lr"].filter((n) => options.has(n));
    if (stray.length > 0) {
      throw new UsageError(
        `${stray.map((n) => `--${n}`).join(", ")} only applies with --lsq.`,
      );
    }
    return undefined;
  }
  if (method !== "token-clipping") {
    throw new UsageError(
      "--lsq is the fine stage of token clipping: add --method token-clipping.",
    );
  }
  return {
    epochs: (options.get("lsq-epochs") as number | undefined) ??
      DEFAULT_LSQ_EPOCHS,
    lr: numberOption(
      args,
      "lsq-lr",
      DEFAULT_LSQ_LR,
      (x) => x > 0,
      "a finite number > 0",
    ),
    seed,
  };
}

/** Runs the fine stage after `coarse`, printing a progress line per step. */
export async function runFineStage(
  compile: CompileFor,
  batches: readonly BatchEncoding[],
  coarse: QuantParams,
  options: LsqOptions,
  run?: Runner,
): Promise<QuantParams> {
  const progress = new Progress(
    "lsq",
    options.epochs * batches.length,
    "tokens",
  );
  let tokens = 0;
  return await fineStage(compile, batches, coarse, options, run, (s) => {
    tokens += s.tokens;
    progress.report(s.done, tokens, `loss ${s.loss.toExponential(4)}`);
  });
}
