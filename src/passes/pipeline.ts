/**
 * The compiler's passes, in order, one line each.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { verify } from "../ir/verify.ts";
import { eliminateDeadCode } from "./dead_code.ts";
import { foldConstants } from "./fold_constants.ts";
import { fuseGelu } from "./fuse_gelu.ts";
import { fuseLayerNorm } from "./fuse_layer_norm.ts";
import { inferShapes } from "./infer_shapes.ts";
import type { CompileOptions, Pass } from "./pass.ts";
import { specialize } from "./specialize.ts";

/** The forward pipeline for a static-shape inference graph. */
export const FORWARD_PIPELINE: readonly Pass[] = [
  specialize, // symbolic batch/sequence dims → numbers
  inferShapes, // every value typed
  foldConstants, // shape chains and constant arithmetic → constants
  eliminateDeadCode, // what folding left unused
  fuseLayerNorm, // decomposed LayerNorm → LayerNorm
  fuseGelu, // erf GELU → Gelu
  eliminateDeadCode, // constants the fusions left unused
];

/** Called after each pass with its 1-based position. */
export type PassObserver = (step: number, pass: Pass, graph: Graph) => void;

/** A pass whose input lacks a property it requires. */
export class PipelineOrderError extends Error {
  /** Builds the message naming the pass and the missing property. */
  constructor(pass: string, property: string) {
    super(
      `Pass '${pass}' requires '${property}', which no earlier pass provides.`,
    );
    this.name = "PipelineOrderError";
  }
}

/** Checks that every pass's requirements are provided by an earlier pass. */
export function checkOrder(passes: readonly Pass[]): void {
  const have = new Set<string>();
  for (const pass of passes) {
    for (const r of pass.requires) {
      if (!have.has(r)) throw new PipelineOrderError(pass.name, r);
    }
    for (const p of pass.provides) have.add(p);
  }
}

/**
 * Runs `passes` over `graph`; with `verifyEach`, the verifier runs after
 * every pass (types required once inferred, static shapes after folding).
 */
export function runPipeline(
  graph: Graph,
  options: CompileOptions,
  passes: readonly Pass[] = FORWARD_PIPELINE,
  observe?: PassObserver,
  verifyEach = false,
): Graph {
  checkOrder(passes);
  const have = new Set<string>();
  let g = graph;
  passes.forEach((pass, i) => {
    g = pass.run(g, options);
    for (const p of pass.provides) have.add(p);
    if (verifyEach) {
      verify(g, {
        requireTypes: have.has("types"),
        requireStatic: have.has("folded"),
      });
    }
    observe?.(i + 1, pass, g);
  });
  return g;
}
