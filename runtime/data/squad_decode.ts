/**
 * Start/end logits → answer text, as BERT's `run_squad.py` `write_predictions`:
 * n-best candidate spans over all windows of a question, mapped back to the
 * original context text, with SQuAD v2.0's "no answer" decision.
 *
 * @module
 */

import { basicTokenize, PYTHON_WHITESPACE_RUN } from "./basic_tokenizer.ts";
import type { SquadExample } from "./squad_examples.ts";
import type { SquadFeature } from "./squad_features.ts";
import type { Vocab } from "./vocab.ts";

/** The model's outputs for one feature (may be longer than the feature: padding). */
export interface SquadLogits {
  /** One start logit per input position. */
  readonly startLogits: ArrayLike<number>;
  /** One end logit per input position. */
  readonly endLogits: ArrayLike<number>;
}

/** Decoding options; defaults are run_squad's. */
export interface SquadDecodeOptions {
  /** Candidates kept per question, and top logits tried per window. Default 20. */
  readonly nBest?: number;
  /** Longest answer in WordPiece tokens. Default 30. */
  readonly maxAnswerLength?: number;
  /** SQuAD v2.0: allow "no answer" (the [CLS] span). Default false. */
  readonly version2?: boolean;
  /** v2.0: answer "" when null score − best span score exceeds this. Default 0. */
  readonly nullScoreDiffThreshold?: number;
  /** The tokenizer lower-cased (uncased model). Default true. */
  readonly lowerCase?: boolean;
}

/** One n-best candidate. */
export interface SquadCandidate {
  /** Answer text from the original context ("" is the null answer). */
  readonly text: string;
  /** Start logit of the span. */
  readonly startLogit: number;
  /** End logit of the span. */
  readonly endLogit: number;
  /** Softmax of start + end logit over the n-best list. */
  readonly probability: number;
}

/** The decoded answer of one question. */
export interface SquadPrediction {
  /** Question id. */
  readonly id: string;
  /** The answer ("" when v2.0 decides there is none). */
  readonly text: string;
  /** Candidates, best first. */
  readonly nbest: SquadCandidate[];
  /**
   * v2.0 only: null score minus best non-null span score (higher = more
   * likely unanswerable; +Infinity when no span qualified). Tune the
   * threshold on these with `bestNoAnswerThreshold`.
   */
  readonly scoreDiff?: number;
}

interface Prelim {
  readonly feature: SquadFeature;
  readonly start: number;
  readonly end: number;
  readonly startLogit: number;
  readonly endLogit: number;
}

/**
 * Decodes one prediction per example that has features.
 *
 * @param features From {@link squadFeatures} for `examples`.
 * @param logits One entry per feature, in the same order.
 */
export function decodeSquad(
  examples: readonly SquadExample[],
  features: readonly SquadFeature[],
  logits: readonly SquadLogits[],
  vocab: Vocab,
  options: SquadDecodeOptions = {},
): SquadPrediction[] {
  if (logits.length !== features.length) {
    throw new RangeError(
      `decodeSquad got ${logits.length} logit pairs for ${features.length} features; run the model on every feature.`,
    );
  }
  const byExample = new Map<number, number[]>();
  features.forEach((f, i) => {
    const list = byExample.get(f.exampleIndex) ?? [];
    list.push(i);
    byExample.set(f.exampleIndex, list);
  });
  return [...byExample].map(([exampleIndex, featureIds]) =>
    decodeExample(
      examples[exampleIndex],
      featureIds.map((i) => features[i]),
      featureIds.map((i) => logits[i]),
      vocab,
      options,
    )
  );
}

function decodeExample(
  example: SquadExample,
  features: readonly SquadFeature[],
  logits: readonly SquadLogits[],
  vocab: Vocab,
  options: SquadDecodeOptions,
): SquadPrediction {
  const nBest = options.nBest ?? 20;
  const maxAnswerLength = options.maxAnswerLength ?? 30;
  const version2 = options.version2 ?? false;
  const prelims: Prelim[] = [];
  // The null answer is scored from the window least sure there is one.
  let nullPrelim: Prelim | null = null;
  for (let f = 0; f < features.length; f++) {
    const feature = features[f];
    const { startLogits, endLogits } = logits[f];
    const nullScore = startLogits[0] + endLogits[0];
    if (
      nullPrelim === null ||
      nullScore < nullPrelim.startLogit + nullPrelim.endLogit
    ) {
      nullPrelim = {
        feature,
        start: 0,
        end: 0,
        startLogit: startLogits[0],
        endLogit: endLogits[0],
      };
    }
    const ends = topIndices(endLogits, nBest);
    for (const start of topIndices(startLogits, nBest)) {
      for (const end of ends) {
        if (isValidSpan(feature, start, end, maxAnswerLength)) {
          prelims.push({
            feature,
            start,
            end,
            startLogit: startLogits[start],
            endLogit: endLogits[end],
          });
        }
      }
    }
  }
  if (version2 && nullPrelim !== null) prelims.push(nullPrelim);
  prelims.sort((a, b) =>
    b.startLogit + b.endLogit - (a.startLogit + a.endLogit)
  );

  const seen = new Set<string>();
  const kept: Omit<SquadCandidate, "probability">[] = [];
  for (const p of prelims) {
    if (kept.length >= nBest) break;
    const text = p.start > 0
      ? spanText(example, p, vocab, options.lowerCase ?? true)
      : "";
    if (seen.has(text)) continue;
    seen.add(text);
    kept.push({ text, startLogit: p.startLogit, endLogit: p.endLogit });
  }
  if (version2 && nullPrelim !== null && !seen.has("")) {
    kept.push({
      text: "",
      startLogit: nullPrelim.startLogit,
      endLogit: nullPrelim.endLogit,
    });
  }
  if (kept.length === 0) {
    kept.push({ text: "empty", startLogit: 0, endLogit: 0 });
  }
  const probabilities = softmax(kept.map((c) => c.startLogit + c.endLogit));
  const nbest = kept.map((c, i) => ({ ...c, probability: probabilities[i] }));
  if (!version2) return { id: example.id, text: nbest[0].text, nbest };

  const best = nbest.find((c) => c.text !== "");
  const nullScore = nullPrelim === null
    ? -Infinity
    : nullPrelim.startLogit + nullPrelim.endLogit;
  const scoreDiff = best === undefined
    ? Infinity
    : nullScore - best.startLogit - best.endLogit;
  const text =
    best === undefined || scoreDiff > (options.nullScoreDiffThreshold ?? 0)
      ? ""
      : best.text;
  return { id: example.id, text, nbest, scoreDiff };
}

/**
 * A candidate span must lie in the context part of the feature (not in
 * padding, the question or special tokens), start where this window has the
 * most context, and be at most `maxLength` tokens long.
 */
function isValidSpan(
  feature: SquadFeature,
  start: number,
  end: number,
  maxLength: number,
): boolean {
  return start < feature.inputIds.length && end < feature.inputIds.length &&
    feature.tokenToWord[start] >= 0 && feature.tokenToWord[end] >= 0 &&
    feature.maxContext[start] === 1 && end >= start &&
    end - start + 1 <= maxLength;
}

/** Positions of the `n` largest values, largest first; ties keep position order. */
function topIndices(values: ArrayLike<number>, n: number): number[] {
  // Insertion into a short sorted list: one pass, no full sort of ~384 logits.
  const top: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (top.length === n && !(v > values[top[n - 1]])) continue;
    let j = top.length < n ? top.length : n - 1;
    while (j > 0 && values[top[j - 1]] < v) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
  }
  return top;
}

/** The span's text in the original context, via run_squad's token → text alignment. */
function spanText(
  example: SquadExample,
  p: Prelim,
  vocab: Vocab,
  lowerCase: boolean,
): string {
  const pieces: string[] = [];
  for (let i = p.start; i <= p.end; i++) {
    pieces.push(vocab.tokenOf(p.feature.inputIds[i]));
  }
  const tokText = pieces.join(" ").replaceAll(" ##", "").replaceAll("##", "")
    .split(PYTHON_WHITESPACE_RUN).filter((w) => w !== "").join(" ");
  const words = example.docTokens.slice(
    p.feature.tokenToWord[p.start],
    p.feature.tokenToWord[p.end] + 1,
  );
  return finalText(tokText, words.join(" "), lowerCase);
}

/**
 * Projects `predicted` (normalised WordPiece text) back onto `original` (the
 * context words it came from), so the answer keeps the context's casing,
 * accents and punctuation. Falls back to `original` when the two cannot be
 * aligned character for character (run_squad's `get_final_text`).
 */
export function finalText(
  predicted: string,
  original: string,
  lowerCase = true,
): string {
  const tok = [...basicTokenize(original, { lowerCase }).join(" ")];
  const pred = [...predicted];
  const start = indexOfSequence(tok, pred);
  if (start < 0) return original;
  const orig = [...original];
  const origNs = nonSpacePositions(orig);
  const tokNs = nonSpacePositions(tok);
  if (origNs.length !== tokNs.length) return original;
  // Position in tok text → index among its non-space characters.
  const tokToNs = new Map(tokNs.map((pos, ns) => [pos, ns]));
  const nsStart = tokToNs.get(start);
  const nsEnd = tokToNs.get(start + pred.length - 1);
  if (nsStart === undefined || nsEnd === undefined) return original;
  return orig.slice(origNs[nsStart], origNs[nsEnd] + 1).join("");
}

function nonSpacePositions(chars: readonly string[]): number[] {
  const positions: number[] = [];
  chars.forEach((c, i) => {
    if (c !== " ") positions.push(i);
  });
  return positions;
}

function indexOfSequence(
  haystack: readonly string[],
  needle: readonly string[],
): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

function softmax(scores: readonly number[]): number[] {
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}
