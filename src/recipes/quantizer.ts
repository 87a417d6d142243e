/**
 * What a quantisation pass is compiled for — a recipe, the rounding of this
 * graph (training or evaluation) and where its stochastic seed comes from —
 * and the quantiser nodes the passes share.
 *
 * @module
 */

import type { Node } from "../ir/graph.ts";
import { scalar } from "../ir/tensor.ts";
import { streamId } from "../ops/quantize_ops.ts";
import { STEP_INPUT } from "../passes/optimizer.ts";
import type { GraphEditor } from "./editor.ts";
import type { Recipe, Role, Rounding } from "./recipe.ts";

/** A recipe as one graph applies it. */
export interface QuantizeTarget {
  /** The recipe. */
  readonly recipe: Recipe;
  /** Rounding of every BFP map in this graph. */
  readonly rounding: Rounding;
  /**
   * The i64 scalar value seeding stochastic rounding (the training step).
   * Without one, a stochastic graph gets the constant seed 0.
   */
  readonly seed?: string;
  /** Folded into every stream id, so runs with different seeds round differently. */
  readonly salt?: number;
}

/** The training step's target: training rounding, seeded by `step`. */
export function trainingTarget(recipe: Recipe, salt = 0): QuantizeTarget {
  return { recipe, rounding: recipe.rounding.train, seed: STEP_INPUT, salt };
}

/** The evaluation graph's target: evaluation rounding. */
export function evaluationTarget(recipe: Recipe, salt = 0): QuantizeTarget {
  return { recipe, rounding: recipe.rounding.eval, salt };
}

/** Attributes and extra inputs every rounding node of `target` takes. */
export class Quantizers {
  private seedValue?: string;
  private readonly cache = new Map<string, string>();

  /** Quantisers for the graph `editor` edits. */
  constructor(
    private readonly editor: GraphEditor,
    readonly target: QuantizeTarget,
  ) {}

  /** The seed input of a stochastic node (none when rounding to nearest). */
  seedInputs(): string[] {
    if (this.target.rounding === "nearest") return [];
    this.seedValue ??= this.target.seed ??
      this.editor.constant("quantize/seed", scalar("i64", 0));
    return [this.seedValue];
  }

  /** `rounding` and the stream of `value` (its name hashed with the salt). */
  roundingAttrs(value: string) {
    return {
      rounding: { kind: "string" as const, value: this.target.rounding },
      stream: {
        kind: "int" as const,
        value: streamId(value, this.target.salt),
      },
    };
  }

  /**
   * The quantised `value` in `role`'s format, made once per value and role:
   * a new node (returned in `made`, to be placed by the caller) the first
   * time, the earlier one's output after that — so an activation that
   * several products read is mapped once.
   */
  operand(
    value: string,
    role: Role,
    name: string,
    made: Node[],
  ): string {
    const key = `${role}\u0000${value}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const { recipe } = this.target;
    const node = recipe.format === "f16"
      ? this.editor.make("F16Round", name, [value])
      : this.editor.make("BfpQuantize", name, [value, ...this.seedInputs()], {
        bits: { kind: "int", value: recipe.bits[role] },
        granularity: { kind: "string", value: recipe.granularity[role] },
        ...this.roundingAttrs(value),
      });
    made.push(node);
    this.cache.set(key, node.outputs[0]);
    return node.outputs[0];
  }
}
