/**
 * Precision recipes as data (NUMERICS.md, ARCHITECTURE.md "Passes"): what
 * number format each operand of each matrix product takes during training
 * and evaluation. The quantisation passes read a recipe; no code path
 * branches on a recipe's name.
 *
 * | recipe  | operands of the weighted MatMuls (fwd + both bwd GEMMs) | activations |
 * |---------|----------------------------------------------------------|-------------|
 * | fp32    | f32, untouched                                           | —           |
 * | fp16    | rounded to f16, f32 compute                              | —           |
 * | int8    | BFP8 weight / activation / gradient                      | untreated   |
 * | int8-a1 | BFP8                                                     | Approach 1: BFP8 inliers + BFP12 outliers |
 * | int8-a2 | BFP8                                                     | Approach 2: BFP8 remainder + exact 2γ·k |
 * | int12   | BFP12                                                    | untreated   |
 * | int16   | BFP16                                                    | untreated   |
 *
 * @example
 * ```ts
 * const recipe = parseRecipe("int8-a2", { gamma: 6, rounding: "nearest" });
 * recipe.outliers; // "tile"
 * ```
 *
 * @module
 */

import { checkGamma, DEFAULT_GAMMA } from "../codegen/outlier/params.ts";

/** The operand roles of a matrix product. */
export const ROLES = ["weight", "activation", "gradient"] as const;

/** An operand role: a weight, an activation (X), or an output gradient (dY). */
export type Role = typeof ROLES[number];

/** R of NUMERICS.md §1: stochastic (training default) or ties-to-even. */
export type Rounding = "stochastic" | "nearest";

/** Which elements share one BFP exponent, in the tensor's stored [rows, last] layout. */
export type Granularity = "tensor" | "row" | "column";

/** The number format a recipe gives matrix-product operands. */
export type Format = "f32" | "f16" | "bfp";

/** How a recipe treats outliers of the weighted MatMuls' activations. */
export type OutlierTreatment = "none" | "split" | "tile";

/** A precision recipe. */
export interface Recipe {
  /** Name of the recipe it was parsed from. */
  readonly name: string;
  /** Operand format; `f32` leaves every graph unchanged. */
  readonly format: Format;
  /** BFP width per role, sign included (2–16); the float width otherwise. */
  readonly bits: Readonly<Record<Role, number>>;
  /** Exponent sharing per role. */
  readonly granularity: Readonly<Record<Role, Granularity>>;
  /** Rounding of every map in the training step and at evaluation. */
  readonly rounding: { readonly train: Rounding; readonly eval: Rounding };
  /** Outlier treatment of the weighted MatMuls' activation inputs. */
  readonly outliers: OutlierTreatment;
  /** BFP width of Approach 1's outlier stream. */
  readonly outlierBits: number;
  /** Outlier threshold γ: |x| > γ is an outlier. */
  readonly gamma: number;
  /** γ per layer: the longest key that prefixes a MatMul's name wins. */
  readonly layerGamma: Readonly<Record<string, number>>;
  /** Also quantise the attention batched MatMuls (Q·Kᵀ and P·V). */
  readonly attentionInt: boolean;
}

/** What a caller may change in a named recipe. */
export interface RecipeOverrides {
  /** One width for every role, or widths by role. */
  readonly bits?: number | Readonly<Record<string, number>>;
  /** Training rounding, or both. */
  readonly rounding?: Rounding | { train?: Rounding; eval?: Rounding };
  /** One granularity for every role, or by role. */
  readonly granularity?: Granularity | Readonly<Record<string, Granularity>>;
  /** Outlier threshold. */
  readonly gamma?: number;
  /** γ per layer name prefix. */
  readonly layerGamma?: Readonly<Record<string, number>>;
  /** Approach 1's outlier width. */
  readonly outlierBits?: number;
  /** Quantise the attention batched MatMuls too. */
  readonly attentionInt?: boolean;
}

/** A recipe that cannot be built: unknown name, or a knob out of range. */
export class RecipeError extends Error {
  /** The recipe asked for. */
  readonly recipe: string;
  /** The knob at fault (`bits.weight`, `gamma`, …); `name` for the recipe itself. */
  readonly field: string;
  /** The value refused. */
  readonly value: unknown;

  /** Builds the error; `message` says what is wrong and what to do. */
  constructor(recipe: string, field: string, value: unknown, message: string) {
    super(message);
    this.name = "RecipeError";
    this.recipe = recipe;
    this.field = field;
    this.value = value;
  }
}

const TRAIN_DEFAULT = { train: "stochastic", eval: "nearest" } as const;
const PER_TENSOR = {
  weight: "tensor",
  activation: "tensor",
  gradient: "tensor",
} as const;

function bfp(bits: number, outliers: OutlierTreatment): Recipe {
  return {
    name: "",
    format: "bfp",
    bits: { weight: bits, activation: bits, gradient: bits },
    granularity: PER_TENSOR,
    rounding: TRAIN_DEFAULT,
    outliers,
    outlierBits: 12,
    gamma: DEFAULT_GAMMA,
    layerGamma: {},
    attentionInt: false,
  };
}

const BASE: Record<string, Recipe> = {
  fp32: { ...bfp(32, "none"), format: "f32" },
  fp16: { ...bfp(16, "none"), format: "f16" },
  int8: bfp(8, "none"),
  "int8-a1": bfp(8, "split"),
  "int8-a2": bfp(8, "tile"),
  int12: bfp(12, "none"),
  int16: bfp(16, "none"),
};

/** The recipe names, in table order. */
export const RECIPE_NAMES: readonly string[] = Object.keys(BASE);

/** Knobs that mean something only for BFP recipes. */
const BFP_ONLY = ["bits", "granularity"] as const;
/** Knobs that mean something only for recipes that treat outliers. */
const OUTLIER_ONLY = ["gamma", "layerGamma"] as const;

/**
 * The recipe `name` with `overrides` applied.
 *
 * @throws {RecipeError} for an unknown name or role, bits outside 2–16,
 * γ ≤ 0 (or one whose 2γ·k would round in f32), an unknown rounding or
 * granularity, or a knob the recipe does not use (e.g. γ on `int8`).
 */
export function parseRecipe(
  name: string,
  overrides: RecipeOverrides = {},
): Recipe {
  const base = BASE[name];
  if (base === undefined) {
    throw new RecipeError(
      name,
      "name",
      name,
      `Unknown precision recipe '${name}'; use one of: ${
        RECIPE_NAMES.join(", ")
      }.`,
    );
  }
  const fail = (field: string, value: unknown, message: string): never => {
    throw new RecipeError(name, field, value, message);
  };
  const o = overrides;
  const bits = o.bits === undefined
    ? base.bits
    : byRole(o.bits, base.bits, "bits", fail);
  if (base.format === "bfp") {
    for (const role of ROLES) checkBits(bits[role], `bits.${role}`, fail);
  }
  if (o.outlierBits !== undefined) {
    checkBits(o.outlierBits, "outlierBits", fail);
  }
  const granularity = o.granularity === undefined
    ? base.granularity
    : byRole(o.granularity, base.granularity, "granularity", fail);
  for (const role of ROLES) {
    if (!["tensor", "row", "column"].includes(granularity[role])) {
      fail(
        `granularity.${role}`,
        granularity[role],
        `Granularity must be tensor, row or column, got '${
          granularity[role]
        }'.`,
      );
    }
  }
  const rounding = typeof o.rounding === "string"
    ? { ...base.rounding, train: o.rounding }
    : { ...base.rounding, ...o.rounding };
  for (const when of ["train", "eval"] as const) {
    if (!["stochastic", "nearest"].includes(rounding[when])) {
      fail(
        `rounding.${when}`,
        rounding[when],
        `Rounding must be stochastic or nearest, got '${rounding[when]}'.`,
      );
    }
  }
  const gamma = o.gamma ?? base.gamma;
  checkThreshold(gamma, "gamma", fail);
  const layerGamma = o.layerGamma ?? base.layerGamma;
  for (const [layer, g] of Object.entries(layerGamma)) {
    checkThreshold(g, `layerGamma.${layer}`, fail);
  }
  checkApplies(name, base, o, fail);
  if (
    base.outliers !== "none" && o.granularity !== undefined &&
    granularity.activation !== "tensor"
  ) {
    fail(
      "granularity.activation",
      granularity.activation,
      `Recipe ${name} splits activations per tensor; drop the activation granularity.`,
    );
  }
  return {
    ...base,
    name,
    bits,
    granularity,
    rounding,
    gamma,
    layerGamma,
    outlierBits: o.outlierBits ?? base.outlierBits,
    attentionInt: o.attentionInt ?? base.attentionInt,
  };
}

/** The threshold for the MatMul named `node`: the longest matching layer prefix, else γ. */
export function gammaFor(recipe: Recipe, node: string): number {
  let best = "";
  for (const prefix of Object.keys(recipe.layerGamma)) {
    if (node.startsWith(prefix) && prefix.length > best.length) best = prefix;
  }
  return best === "" ? recipe.gamma : recipe.layerGamma[best];
}

type Fail = (field: string, value: unknown, message: string) => never;

/** A per-role value from one value for all roles or a partial map by role. */
function byRole<T>(
  given: T | Readonly<Record<string, T>>,
  base: Readonly<Record<Role, T>>,
  field: string,
  fail: Fail,
): Record<Role, T> {
  if (typeof given !== "object" || given === null) {
    return { weight: given, activation: given, gradient: given };
  }
  const out = { ...base };
  for (const [role, value] of Object.entries(given)) {
    if (!(ROLES as readonly string[]).includes(role)) {
      fail(
        `${field}.${role}`,
        role,
        `Unknown operand role '${role}' in ${field}; use weight, activation or gradient.`,
      );
    }
    out[role as Role] = value;
  }
  return out;
}

function checkBits(bits: number, field: string, fail: Fail): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) {
    fail(
      field,
      bits,
      `A BFP width must be a whole number of bits from 2 to 16, got ${bits} (${field}).`,
    );
  }
}

function checkThreshold(gamma: number, field: string, fail: Fail): void {
  if (!(gamma > 0) || !Number.isFinite(gamma)) {
    fail(
      field,
      gamma,
      `The outlier threshold γ must be a finite number > 0, got ${gamma} (${field}).`,
    );
  }
  if (Math.fround(gamma) !== gamma) {
    fail(
      field,
      gamma,
      `The outlier threshold γ must be an f32 value such as 5 or 4.5, got ${gamma} (${field}).`,
    );
  }
  // The kernels' own rule: 2γ·k must be exact in f32.
  try {
    checkGamma(gamma);
  } catch (e) {
    fail(field, gamma, (e as Error).message);
  }
}

/** Refuses knobs that the base recipe would silently ignore. */
function checkApplies(
  name: string,
  base: Recipe,
  o: RecipeOverrides,
  fail: Fail,
): void {
  const set = (k: keyof RecipeOverrides) => o[k] !== undefined;
  for (const k of BFP_ONLY) {
    if (base.format !== "bfp" && set(k)) {
      fail(
        k,
        o[k],
        `Recipe ${name} has no BFP operands, so '${k}' does not apply.`,
      );
    }
  }
  for (const k of [...OUTLIER_ONLY, "outlierBits"] as const) {
    const applies = k === "outlierBits"
      ? base.outliers === "split"
      : base.outliers !== "none";
    if (!applies && set(k)) {
      fail(
        k,
        o[k],
        `Recipe ${name} does not ${
          k === "outlierBits" ? "split outliers" : "treat outliers"
        }, so '${k}' does not apply; use ${
          k === "outlierBits" ? "int8-a1" : "int8-a1 or int8-a2"
        }.`,
      );
    }
  }
  if (base.format !== "bfp" && set("rounding")) {
    fail(
      "rounding",
      o.rounding,
      `Recipe ${name} has no BFP maps to round, so 'rounding' does not apply.`,
    );
  }
  if (base.format === "f32" && set("attentionInt")) {
    fail(
      "attentionInt",
      o.attentionInt,
      "Recipe fp32 rounds nothing, so 'attentionInt' does not apply.",
    );
  }
}
