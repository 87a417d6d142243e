/**
 * SQuAD v1.1 fine-tuning with the `span` head: questions become doc-stride
 * windows (run_squad's features), a training step minimises the mean of the
 * start and end cross-entropies, and after every epoch the evaluation
 * questions are answered by n-best span decoding and scored with the
 * official exact match and F1.
 *
 * The step runner, compilation, shuffling and checkpoint hooks are those of
 * the GLUE runs (`fine_tune.ts`); only the data and the metric differ.
 *
 * @module
 */

import type { SquadExample } from "../../runtime/data/squad_examples.ts";
import {
  type SquadFeature,
  squadFeatures,
} from "../../runtime/data/squad_features.ts";
import type { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import type { Graph } from "../ir/graph.ts";
import { initialTrainingState, type TrainingState } from "../training/state.ts";
import { shuffledOrder } from "./batches.ts";
import { bucketLengths } from "./buckets.ts";
import {
  backendOf,
  type EpochReport,
  type FineTuneHooks,
  type FineTuneOptions,
  type FineTuneResult,
  runPrograms,
  scoredOnly,
} from "./fine_tune.ts";
import { spanBatch, trainingFeatures } from "./squad_batches.ts";
import { evaluateSquad, type SquadEvalSet } from "./squad_evaluate.ts";
import { stepRunner } from "./step_runner.ts";

/** Settings of a SQuAD run: the GLUE run's, plus run_squad's window sizes. */
export interface SquadFineTuneOptions
  extends Omit<FineTuneOptions, "task" | "head"> {
  /** Tokens between the starts of a question's windows (run_squad: 128). */
  readonly docStride: number;
  /** Question tokens kept (run_squad: 64). */
  readonly maxQueryLength: number;
  /** Longest decoded answer in WordPiece tokens (default 30). */
  readonly maxAnswerLength?: number;
}

/** The windows a run trains on and the questions it scores. */
export interface SquadData {
  /** Training windows that have a target, in question order. */
  readonly train: SquadFeature[];
  /** Evaluation questions with all their windows. */
  readonly eval: SquadEvalSet;
}

/** A finished SQuAD run. */
export interface SquadFineTuneResult extends FineTuneResult {
  /** Question id → answer after the last evaluation ({} if none ran). */
  readonly predictions: Record<string, string>;
}

/**
 * Windows of `train` and `evaluation` at the run's sequence length, doc
 * stride and query length. A training window whose answer is not wholly
 * inside it targets [CLS] (position 0), as in run_squad.
 */
export function prepareSquad(
  train: readonly SquadExample[],
  evaluation: readonly SquadExample[],
  tokenizer: BertTokenizer,
  options: SquadFineTuneOptions,
): SquadData {
  const windows = {
    maxSeqLength: options.seq,
    docStride: options.docStride,
    maxQueryLength: options.maxQueryLength,
  };
  return {
    train: trainingFeatures(squadFeatures(train, tokenizer, windows)),
    eval: {
      examples: evaluation,
      features: squadFeatures(evaluation, tokenizer, windows),
    },
  };
}

/**
 * Fine-tunes `imported` (an encoder graph) on `data.train`, scoring
 * `data.eval` after each epoch (`dev` holds `exact_match` and `f1`). With
 * `resume`, the run continues at that state's step: window order depends
 * only on (seed, epoch), so it ends as a run never stopped would. A state
 * at the last step is only scored (`scoredOnly`).
 */
export async function squadFineTune(
  imported: Graph,
  data: SquadData,
  tokenizer: BertTokenizer,
  options: SquadFineTuneOptions,
  hooks: FineTuneHooks = {},
  resume?: TrainingState,
): Promise<SquadFineTuneResult> {
  const { batch } = options;
  const size = data.train.length;
  const stepsPerEpoch = Math.ceil(size / batch);
  const totalSteps = stepsPerEpoch * options.epochs;
  const programs = runPrograms(
    imported,
    size,
    { ...options, head: "span" },
    hooks.onPass,
  );
  // The full-length program is the run's (export, serving), whichever
  // buckets the batches used.
  const program = programs(options.seq);
  const lengths = bucketLengths(options.seq, options.buckets);
  const start = resume ??
    initialTrainingState(program.gradients, options.seed, program.params);
  const runner = stepRunner(
    backendOf(options),
    programs,
    start,
    options.threads,
  );
  try {
    const pad = tokenizer.vocab.special.pad;
    let step = start.step;
    let tokens = 0;
    let predictions: Record<string, string> = {};
    const losses: number[] = [];
    const history: EpochReport[] = [];
    const stopped = () => ({
      program,
      state: runner.state(),
      losses,
      history,
      predictions,
    });
    // Scores `state` on the evaluation questions and keeps its answers.
    const score = async (state: TrainingState) => {
      const evaluation = await evaluateSquad(
        programs,
        state,
        data.eval,
        tokenizer.vocab,
        options,
      );
      predictions = evaluation.predictions;
      return {
        exact_match: evaluation.scores.exactMatch,
        f1: evaluation.scores.f1,
      };
    };
    const firstEpoch = Math.floor(step / stepsPerEpoch) + 1;
    for (let epoch = firstEpoch; epoch <= options.epochs; epoch++) {
      const began = performance.now();
      const epochTokens = tokens;
      const order = shuffledOrder(size, options.seed, epoch);
      let sum = 0, count = 0;
      for (let k = step - (epoch - 1) * stepsPerEpoch; k < stepsPerEpoch; k++) {
        const rows = order.slice(k * batch, (k + 1) * batch);
        const b = spanBatch(
          program.forward,
          data.train,
          rows,
          batch,
          lengths,
          pad,
        );
        const loss = await runner.step(b.feeds, b.length);
        step++;
        losses.push(loss);
        sum += loss;
        count++;
        tokens += b.tokens;
        hooks.onStep?.(step, totalSteps, loss, tokens);
        if (hooks.checkpointEvery && step % hooks.checkpointEvery === 0) {
          await hooks.onCheckpoint?.(runner.state());
        }
        if (hooks.stopAfter !== undefined && step >= hooks.stopAfter) {
          return stopped();
        }
      }
      const seconds = (performance.now() - began) / 1000;
      // One copy of the state out of the engine serves evaluation and checkpoint.
      const state = runner.state();
      const report: EpochReport = {
        epoch,
        step,
        trainLoss: sum / count,
        dev: await score(state),
        tokensPerSecond: (tokens - epochTokens) / seconds,
      };
      history.push(report);
      hooks.onEpoch?.(report);
      await hooks.onCheckpoint?.(state);
    }
    if (firstEpoch > options.epochs) {
      const report = scoredOnly(options, step, await score(runner.state()));
      history.push(report);
      hooks.onEpoch?.(report);
    }
    return stopped();
  } finally {
    runner.close();
  }
}
