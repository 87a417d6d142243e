/**
 * The data layer of the tessera runtime: BERT tokenizer, GLUE and SQuAD
 * loaders, batching and metrics. Everything exported here is plain
 * TypeScript that runs unchanged in Deno, Node and a browser: parsers take
 * file contents as strings. File reading for Deno lives in `read_file.ts`,
 * which this module does not re-export.
 *
 * @example
 * ```ts
 * import { BertTokenizer, parseGlue, LengthBucketSampler, glueScores } from "./mod.ts";
 *
 * const tok = BertTokenizer.fromVocabText(vocabText);
 * const train = parseGlue("SST-2", "train", trainTsv, "SST-2/train.tsv");
 * const encodings = train.map((e) => tok.encode(e.textA, e.textB, { maxLength: 128 }));
 * const sampler = new LengthBucketSampler(encodings.map((e) => e.inputIds.length), { batchSize: 32, seed: 1 });
 * for (const rows of sampler.batches(0)) {
 *   const batch = padBatch(rows.map((i) => encodings[i]), "longest", tok.vocab.special.pad);
 * }
 * glueScores("SST-2", predictions, labels); // { accuracy: ... }
 * ```
 *
 * @module
 */

export {
  basicTokenize,
  type BasicTokenizerOptions,
} from "./basic_tokenizer.ts";
export { type LengthBucketOptions, LengthBucketSampler } from "./bucketing.ts";
export {
  type BatchEncoding,
  type Encoding,
  padBatch,
  type Padding,
} from "./encoding.ts";
export { DataFormatError, EncodeOptionsError, VocabError } from "./errors.ts";
export { type GlueExample, parseGlue } from "./glue.ts";
export {
  GLUE_TASKS,
  glueFileName,
  type GlueLayout,
  type GlueSplit,
  type GlueTaskName,
  type GlueTaskSpec,
} from "./glue_tasks.ts";
export {
  accuracy,
  averageRanks,
  f1Binary,
  GLUE_METRICS,
  type GlueMetricName,
  glueScores,
  matthewsCorrelation,
  pearson,
  spearman,
} from "./metrics.ts";
export { Rng } from "./rng.ts";
export {
  decodeSquad,
  finalText,
  type SquadCandidate,
  type SquadDecodeOptions,
  type SquadLogits,
  type SquadPrediction,
} from "./squad_decode.ts";
export {
  bestNoAnswerThreshold,
  evaluateSquadV1,
  evaluateSquadV2,
  exactMatch,
  f1Score,
  normalizeAnswer,
  type SquadScores,
  type SquadV2Scores,
} from "./squad_eval.ts";
export {
  parseSquad,
  type SquadAnswer,
  type SquadAnswerSpan,
  type SquadArticle,
  type SquadDataset,
  type SquadExample,
} from "./squad_examples.ts";
export {
  type SquadFeature,
  type SquadFeatureOptions,
  squadFeatures,
} from "./squad_features.ts";
export {
  BertTokenizer,
  type BertTokenizerOptions,
  type EncodeBatchOptions,
  type EncodeOptions,
} from "./tokenizer.ts";
export { longestFirstLengths } from "./truncation.ts";
export { type SpecialTokenIds, Vocab } from "./vocab.ts";
