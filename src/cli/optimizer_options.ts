/**
 * The optimizer and regularisation options every training command shares
 * (`finetune`, `finetune --task squad`, `compile --train`), with one spelling,
 * one help text and one validation, Hugging Face `run_glue.py` meanings.
 *
 * @module
 */

import { numberOption, type OptionSpec, type ParsedArgs } from "./args.ts";

/** `--lr`, `--warmup-ratio`, `--weight-decay`, `--dropout`, `--seed`; `defaultLr` shows in the help. */
export function optimizerOptionSpecs(
  defaultLr: number,
): Record<string, OptionSpec> {
  return {
    lr: {
      kind: "string",
      value: "X",
      help:
        `learning_rate, the peak of the linear schedule (default ${defaultLr})`,
    },
    "warmup-ratio": {
      kind: "string",
      value: "X",
      help: "warmup_ratio in [0, 1) (default 0)",
    },
    "weight-decay": {
      kind: "string",
      value: "X",
      help: "weight_decay ≥ 0 (default 0)",
    },
    dropout: {
      kind: "string",
      value: "P",
      help:
        "hidden_dropout_prob and attention_probs_dropout_prob in [0, 1) (default 0.1)",
    },
    seed: {
      kind: "int",
      value: "N",
      help:
        "seed of the head, the batch order and the dropout masks (default 1)",
    },
  };
}

/** The parsed values of {@linkcode optimizerOptionSpecs}. */
export interface OptimizerSettings {
  readonly learningRate: number;
  readonly warmupRatio: number;
  readonly weightDecay: number;
  readonly dropout: number;
  readonly seed: number;
}

/** The optimizer settings `args` name; a usage error for a bad value. */
export function optimizerSettings(
  args: ParsedArgs,
  defaultLr: number,
): OptimizerSettings {
  const unitInterval = (x: number) => x >= 0 && x < 1;
  return {
    learningRate: numberOption(
      args,
      "lr",
      defaultLr,
      (x) => x > 0,
      "a number > 0",
    ),
    warmupRatio: numberOption(
      args,
      "warmup-ratio",
      0,
      unitInterval,
      "in [0, 1)",
    ),
    weightDecay: numberOption(args, "weight-decay", 0, (x) => x >= 0, "≥ 0"),
    dropout: numberOption(args, "dropout", 0.1, unitInterval, "in [0, 1)"),
    seed: (args.options.get("seed") as number | undefined) ?? 1,
  };
}
