/**
 * The fine stage of Token-Wise Clipping: LSQ+ learning of every activation
 * quantiser's scale and offset from the coarse stage's result, on the
 * calibration set, through the training runtime — the step graphs of
 * `lsq_graph.ts` (one per batch shape) run on the WASM engine with the
 * parameters and Adam moments resident in engine memory, moved between
 * engines when the shape changes (as `src/finetune/step_runner.ts` does).
 * Ops without an engine kernel (`LsqFakeQuant`, its gradient, the cosine
 * schedule) run on the engine's reference fallback.
 *
 * Epochs visit every calibration batch once, in an order drawn from
 * (seed, epoch); with one engine thread a seed gives bit-identical results.
 *
 * @module
 */

import type { BatchEncoding } from "../../runtime/data/encoding.ts";
import { Rng } from "../../runtime/data/rng.ts";
import { Engine } from "../../runtime/engine/mod.ts";
import { feedsFor } from "../analysis/model_feeds.ts";
import type { Runner } from "../analysis/graph_runner.ts";
import type { Graph } from "../ir/graph.ts";
import { scalar, type Tensor } from "../ir/tensor.ts";
import { GRAD_NORM_OUTPUT, nextName, STEP_INPUT } from "../passes/optimizer.ts";
import {
  collectStats,
  type CompileFor,
  quantisedMse,
  referenceRunner,
} from "./calibrate.ts";
import { fakeQuantise } from "./fake_quant.ts";
import {
  learnedSite,
  lossFeeds,
  LSQ_LOSS,
  lsqOffsetName,
  type LsqProgram,
  lsqProgram,
  lsqScaleName,
} from "./lsq_graph.ts";
import {
  type Precision,
  PtqError,
  type QuantParams,
  type SiteParams,
} from "./params.ts";

/** Default epochs over the calibration set (the 3). */
export const DEFAULT_LSQ_EPOCHS = 3;
/** Default Adam learning rate (the 1e-5). */
export const DEFAULT_LSQ_LR = 1e-5;

/** Settings of the fine stage. */
export interface LsqOptions {
  /** Passes over the calibration batches (a positive integer). */
  readonly epochs: number;
  /** Peak Adam learning rate (finite, > 0); cosine decay to 0. */
  readonly lr: number;
  /** Seed of the batch order. */
  readonly seed: number;
}

/** What one step reports. */
export interface LsqStep {
  /** Steps done, this one included. */
  readonly done: number;
  /** Steps in the run. */
  readonly total: number;
  /** The batch's loss (its MSE vs f32, before this step's update). */
  readonly loss: number;
  /** Real tokens in the batch. */
  readonly tokens: number;
  /** The global norm of the scale and offset gradients. */
  readonly gradNorm: number;
}

/** Throws a {@linkcode PtqError} unless `options` are usable. */
export function checkLsqOptions(options: LsqOptions): void {
  if (!Number.isSafeInteger(options.epochs) || options.epochs < 1) {
    throw new PtqError(
      `The LSQ+ epoch count must be a positive integer, got ${options.epochs}.`,
    );
  }
  if (!Number.isFinite(options.lr) || options.lr <= 0) {
    throw new PtqError(
      `The LSQ+ learning rate must be a finite number > 0, got ${options.lr}.`,
    );
  }
}

/** Learned sites and the loss of every step. */
export interface LsqResult {
  /** The sites with their learned scale and offset. */
  readonly sites: SiteParams[];
  /** Per step, the batch loss before its update. */
  readonly losses: number[];
}

/**
 * Learns the scale and offset of every site from `sites` (the coarse
 * stage's) over `batches`, whose f32 outputs are `reference`.
 */
export async function lsqFineTune(
  compile: CompileFor,
  batches: readonly BatchEncoding[],
  reference: readonly ReadonlyMap<string, Tensor>[],
  precision: Precision,
  sites: readonly SiteParams[],
  options: LsqOptions,
  onStep?: (step: LsqStep) => void,
): Promise<LsqResult> {
  checkLsqOptions(options);
  const total = options.epochs * batches.length;
  const programs = new Map<string, LsqProgram>();
  const programFor = (b: BatchEncoding) => {
    const key = `${b.batchSize}x${b.seqLength}`;
    let p = programs.get(key);
    if (p === undefined) {
      p = lsqProgram(compile(b.batchSize, b.seqLength), precision, sites, {
        lr: options.lr,
        totalSteps: total,
      });
      programs.set(key, p);
    }
    return p;
  };
  const engines = new Map<Graph, Engine>();
  let current: ReadonlyMap<string, Tensor> | undefined;
  let active: Engine | undefined;
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = new Rng(options.seed, epoch).permutation(batches.length);
      for (const i of order) {
        const batch = batches[i];
        const program = programFor(batch);
        const state = current ?? program.initialState;
        let engine = engines.get(program.step);
        if (engine === undefined) {
          engine = await Engine.create(program.step, { resident: state });
          engines.set(program.step, engine);
        } else if (engine !== active) {
          for (const [name, t] of state) engine.setConstant(name, t);
        }
        active = engine;
        const feeds = new Map([
          ...feedsFor(program.step, batch, undefined, program.inputs),
          ...lossFeeds(batch, reference[i], program.outputs),
        ]);
        feeds.set(STEP_INPUT, scalar("i64", losses.length));
        // Views: the state stays in engine memory; only names move.
        const out = engine.run(feeds, { views: true });
        current = new Map(
          [...program.initialState.keys()].map((n) => [
            n,
            out.get(nextName(n))!,
          ]),
        );
        const loss = out.get(LSQ_LOSS)!.data[0];
        losses.push(loss);
        onStep?.({
          done: losses.length,
          total,
          loss,
          tokens: batch.attentionMask.reduce((a, b) => a + b, 0),
          gradNorm: out.get(GRAD_NORM_OUTPUT)!.data[0],
        });
      }
    }
  } finally {
    for (const engine of engines.values()) engine.close();
  }
  const learned = current!;
  return {
    sites: sites.map((s) =>
      learnedSite(
        s,
        learned.get(lsqScaleName(s.value))!.data[0],
        learned.get(lsqOffsetName(s.value))!.data[0],
      )
    ),
    losses,
  };
}

/**
 * The fine stage after `coarse` (a token-clipping calibration of
 * `batches`): one f32 pass for the targets, {@linkcode lsqFineTune}, then
 * the output MSE of the learned parameters measured as the coarse stage
 * measured its own (`run`, the fake-quant rewrite).
 */
export async function fineStage(
  compileF32: CompileFor,
  batches: readonly BatchEncoding[],
  coarse: QuantParams,
  options: LsqOptions,
  run: Runner = referenceRunner,
  onStep?: (step: LsqStep) => void,
): Promise<QuantParams> {
  checkLsqOptions(options);
  const graphs = new Map<string, Graph>();
  const compile: CompileFor = (b, s) => {
    const key = `${b}x${s}`;
    let g = graphs.get(key);
    if (g === undefined) graphs.set(key, g = compileF32(b, s));
    return g;
  };
  const stats = await collectStats(compile, batches, run);
  const { sites, losses } = await lsqFineTune(
    compile,
    batches,
    stats.reference,
    coarse.precision,
    coarse.sites,
    options,
    onStep,
  );
  const byValue = new Map(sites.map((s) => [s.value, s]));
  const quantised = new Map<string, Graph>();
  const mse = await quantisedMse(
    compile,
    batches,
    stats,
    coarse.precision,
    sites,
    run,
    // One graph per shape, so an engine runner builds one engine per shape.
    (b, s) => {
      const key = `${b}x${s}`;
      let g = quantised.get(key);
      if (g === undefined) {
        g = fakeQuantise(compile(b, s), {
          weightBits: coarse.precision.weightBits,
          sites: byValue,
        });
        quantised.set(key, g);
      }
      return g;
    },
  );
  return {
    ...coarse,
    method: `${coarse.method}+lsq`,
    mse,
    sites,
    lsq: { ...options, steps: losses.length, mseBefore: coarse.mse, losses },
  };
}
