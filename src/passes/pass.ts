/**
 * What a pass is, and the options the pipeline hands every pass.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";

/** Options that shape compilation. */
export interface CompileOptions {
  /** Batch size that symbolic batch dims become. */
  readonly batch: number;
  /** Sequence length that symbolic sequence dims become. */
  readonly seq: number;
  /** Explicit values for named symbolic dims; they win over batch/seq. */
  readonly dims: Readonly<Record<string, number>>;
  /**
   * Constants that must stay as they are — the parameters a training graph
   * updates. Nothing computed from them is folded.
   */
  readonly preserve?: readonly string[];
}

/** Default compile options: one short sentence. */
export const DEFAULT_OPTIONS: CompileOptions = { batch: 1, seq: 128, dims: {} };

/**
 * One graph-to-graph rewrite. `requires` and `provides` name graph
 * properties (e.g. `static-shapes`) so the pipeline's order can be checked.
 */
export interface Pass {
  /** Name used in dumps (`003_fold-constants.ir`). */
  readonly name: string;
  /** One line on what it does. */
  readonly summary: string;
  /** Properties the input graph must have. */
  readonly requires: readonly string[];
  /** Properties the output graph has. */
  readonly provides: readonly string[];
  /** Rewrites the graph; never mutates its input. */
  run(graph: Graph, options: CompileOptions): Graph;
}
