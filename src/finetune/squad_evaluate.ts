/**
 * Scoring a span model on SQuAD v1.1 as the official script does: run every
 * window of every question, decode the n-best spans of each question back
 * to context text (run_squad's `write_predictions`) and score the answers
 * with `evaluate-v1.1.py`'s normalisation, exact match and F1.
 *
 * @module
 */

import {
  decodeSquad,
  type SquadLogits,
} from "../../runtime/data/squad_decode.ts";
import {
  evaluateSquadV1,
  type SquadScores,
} from "../../runtime/data/squad_eval.ts";
import type { SquadExample } from "../../runtime/data/squad_examples.ts";
import type { SquadFeature } from "../../runtime/data/squad_features.ts";
import type { Vocab } from "../../runtime/data/vocab.ts";
import type { Recipe } from "../recipes/mod.ts";
import type { TrainingState } from "../training/state.ts";
import { bucketLengths, type Programs } from "./buckets.ts";
import { backendOf } from "./fine_tune.ts";
import { spanBatch } from "./squad_batches.ts";
import { type Backend, bucketedEvaluation } from "./step_runner.ts";

/** Questions to score and their windows (from `squadFeatures`). */
export interface SquadEvalSet {
  readonly examples: readonly SquadExample[];
  readonly features: readonly SquadFeature[];
}

/** How evaluation runs and decodes. */
export interface SquadEvalOptions {
  /** Rows per forward run (the compiled batch). */
  readonly batch: number;
  /** Tokens per row at most (the run's sequence length). */
  readonly seq: number;
  /** Length buckets rows are padded to (see `buckets.ts`; default there). */
  readonly buckets?: readonly number[];
  /** Where the forward graph runs (default: as the fine-tuning run). */
  readonly backend?: Backend;
  /** Precision recipe of the run, which picks the backend. */
  readonly recipe?: Recipe;
  /** Longest answer in WordPiece tokens (default 30, run_squad's). */
  readonly maxAnswerLength?: number;
  /** Candidates kept per question (default 20, run_squad's). */
  readonly nBest?: number;
}

/** Scores and the answers they came from. */
export interface SquadEvaluation {
  /** Official v1.1 exact match and F1, in percent. */
  readonly scores: SquadScores;
  /** Question id → predicted answer (the official predictions.json). */
  readonly predictions: Record<string, string>;
}

/**
 * Decodes `logits` (one pair per feature) to answers and scores them with
 * the official v1.1 formula.
 */
export function scoreLogits(
  set: SquadEvalSet,
  logits: readonly SquadLogits[],
  vocab: Vocab,
  options: Pick<SquadEvalOptions, "maxAnswerLength" | "nBest"> = {},
): SquadEvaluation {
  const decoded = decodeSquad(set.examples, set.features, logits, vocab, {
    maxAnswerLength: options.maxAnswerLength ?? 30,
    nBest: options.nBest ?? 20,
  });
  const predictions = Object.fromEntries(decoded.map((p) => [p.id, p.text]));
  return { scores: evaluateSquadV1(set.examples, predictions), predictions };
}

/**
 * EM/F1 on `set` of the programs' evaluation graphs with the weights of
 * `state`, each batch on the graph of its length bucket.
 */
export async function evaluateSquad(
  programs: Programs,
  state: TrainingState,
  set: SquadEvalSet,
  vocab: Vocab,
  options: SquadEvalOptions,
): Promise<SquadEvaluation> {
  const runnerFor = bucketedEvaluation(backendOf(options), programs, state);
  const { batch } = options;
  const lengths = bucketLengths(options.seq, options.buckets);
  const graph = programs(options.seq).evaluation;
  const logits: SquadLogits[] = [];
  for (let first = 0; first < set.features.length; first += batch) {
    const rows: number[] = [];
    for (let i = first; i < Math.min(first + batch, set.features.length); i++) {
      rows.push(i);
    }
    const { feeds, length } = spanBatch(
      graph,
      set.features,
      rows,
      batch,
      lengths,
      vocab.special.pad,
    );
    const run = await runnerFor(length);
    // logits is [batch, length, 2]: start and end interleaved per position.
    const data = run(feeds).get("logits")!.data as Float32Array;
    for (let r = 0; r < rows.length; r++) {
      const startLogits = new Float32Array(length);
      const endLogits = new Float32Array(length);
      for (let s = 0; s < length; s++) {
        startLogits[s] = data[2 * (r * length + s)];
        endLogits[s] = data[2 * (r * length + s) + 1];
      }
      logits.push({ startLogits, endLogits });
    }
  }
  return scoreLogits(set, logits, vocab, options);
}

/** What the evaluation pipeline scores without a model, as a sanity check. */
export interface SquadGoldChecks {
  /** The first gold answer of each question as the prediction: must be 100/100. */
  readonly goldAnswers: SquadScores;
  /**
   * Logits that point at each window's training target, through the same
   * windows, n-best decoding and scoring as a model: just under 100 where
   * WordPiece cannot isolate an answer (e.g. "8" inside "20–18").
   */
  readonly oracleSpans: SquadScores;
}

/** Scores the gold answers and the oracle spans of `set` (see {@link SquadGoldChecks}). */
export function goldChecks(
  set: SquadEvalSet,
  vocab: Vocab,
  options: Pick<SquadEvalOptions, "maxAnswerLength" | "nBest"> = {},
): SquadGoldChecks {
  const gold = Object.fromEntries(
    set.examples.map((e) => [e.id, e.answers[0]?.text ?? ""]),
  );
  const oracle = set.features.map((f) => {
    const startLogits = new Float32Array(f.inputIds.length);
    const endLogits = new Float32Array(f.inputIds.length);
    startLogits[f.startPosition ?? 0] = 10;
    endLogits[f.endPosition ?? 0] = 10;
    return { startLogits, endLogits };
  });
  return {
    goldAnswers: evaluateSquadV1(set.examples, gold),
    oracleSpans: scoreLogits(set, oracle, vocab, options).scores,
  };
}
