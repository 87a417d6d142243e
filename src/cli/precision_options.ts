/**
 * The precision-recipe options shared by the fine-tuning commands (GLUE and
 * SQuAD): `--precision`, `--gamma`, `--rounding`, `--bits`,
 * `--attention-int`, `--recompute` and `--dump-ir`, their parsing into a
 * `Recipe` (and the recompute targets), and the
 * pass observer `--dump-ir` asks for. One module, so both commands accept
 * the same values and refuse bad ones with the same usage errors.
 *
 * @module
 */

import { join } from "node:path";
import { printGraph } from "../ir/printer.ts";
import type { PassObserver } from "../passes/pipeline.ts";
import { parseRecompute, type RecomputeTarget } from "../passes/recompute.ts";
import {
  parseRecipe,
  type Recipe,
  RECIPE_NAMES,
  RecipeError,
  type Rounding,
} from "../recipes/mod.ts";
import type { OptionSpec, ParsedArgs } from "./args.ts";
import { UsageError } from "./args.ts";

/** The options' specs, to spread into a command's option table. */
export const PRECISION_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  precision: {
    kind: "string",
    value: "NAME",
    help: `precision recipe: ${RECIPE_NAMES.join(", ")} (default fp32)`,
  },
  gamma: {
    kind: "string",
    value: "X",
    help: "outlier threshold γ of int8-a1/int8-a2 (default 5)",
  },
  rounding: {
    kind: "string",
    value: "R",
    help:
      "BFP rounding while training: stochastic or nearest (default stochastic)",
  },
  bits: {
    kind: "int",
    value: "N",
    help: "BFP width of every operand, 2–16 (default: the recipe's)",
  },
  "attention-int": {
    kind: "flag",
    help: "also quantise the attention products Q·Kᵀ and P·V",
  },
  recompute: {
    kind: "string",
    value: "LIST",
    help:
      "gelu,softmax: the backward recomputes these f32 inputs from values it keeps anyway (less memory, bit-identical steps; default none)",
  },
  "dump-ir": {
    kind: "string",
    value: "DIR",
    help: "write the training step after each recipe pass to DIR",
  },
};

/** The `--recompute` targets (none by default); a usage error when bad. */
export function recomputeOption(args: ParsedArgs): RecomputeTarget[] {
  const text = args.options.get("recompute") as string | undefined;
  try {
    return text === undefined ? [] : parseRecompute(text);
  } catch (e) {
    throw new UsageError(`Option '--recompute': ${(e as Error).message}`);
  }
}

/** The recipe the precision options name; a usage error when it is bad. */
export function recipeOption(args: ParsedArgs): Recipe {
  const { options } = args;
  const text = (name: string) => options.get(name) as string | undefined;
  const gamma = text("gamma");
  try {
    return parseRecipe(text("precision") ?? "fp32", {
      gamma: gamma === undefined ? undefined : Number(gamma),
      rounding: text("rounding") as Rounding | undefined,
      bits: options.get("bits") as number | undefined,
      attentionInt: options.get("attention-int") ? true : undefined,
    });
  } catch (e) {
    if (e instanceof RecipeError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * The observer that writes the training step after each recipe pass to the
 * `--dump-ir` directory (created here), or undefined without the option.
 */
export async function dumpIrObserver(
  args: ParsedArgs,
): Promise<PassObserver | undefined> {
  const dir = args.options.get("dump-ir") as string | undefined;
  if (dir === undefined) return undefined;
  await Deno.mkdir(dir, { recursive: true });
  return (step, pass, graph) =>
    Deno.writeTextFileSync(
      join(dir, `${String(step).padStart(3, "0")}_${pass.name}.ir`),
      printGraph(graph),
    );
}
