/**
 * The nine GLUE tasks as data: file layout per split and label set.
 * Column positions follow the GLUE download script's files and HF's
 * `glue.py` processors.
 *
 * @module
 */

/** GLUE task names as the GLUE download script spells the folders. */
export type GlueTaskName =
  | "CoLA"
  | "SST-2"
  | "MRPC"
  | "STS-B"
  | "QQP"
  | "MNLI"
  | "QNLI"
  | "RTE"
  | "WNLI";

/** Split names; MNLI has matched/mismatched dev and test instead of dev/test. */
export type GlueSplit =
  | "train"
  | "dev"
  | "test"
  | "dev_matched"
  | "dev_mismatched"
  | "test_matched"
  | "test_mismatched";

/** Where the fields of one split's file are. Column indices are 0-based. */
export interface GlueLayout {
  /** Whether line 1 is a header row (skipped, but its width is checked). */
  readonly header: boolean;
  /** Tab-separated columns every row must have. */
  readonly columns: number;
  /** Column of the example id, or undefined to number rows instead. */
  readonly id?: number;
  /** Column of the first sentence. */
  readonly textA: number;
  /** Column of the second sentence, for pair tasks. */
  readonly textB?: number;
  /** Column of the label; undefined for unlabelled (test) splits. */
  readonly label?: number;
}

/** Everything the loaders and the evaluator need to know about one task. */
export interface GlueTaskSpec {
  /** Task name. */
  readonly name: GlueTaskName;
  /** Class labels as written in the files (index = class id), or null for regression (STS-B). */
  readonly labels: readonly string[] | null;
  /** The layout of each split this task has. */
  readonly splits: Readonly<Partial<Record<GlueSplit, GlueLayout>>>;
}

const BINARY = ["0", "1"] as const;
const ENTAILMENT = ["entailment", "not_entailment"] as const;

// index, sentence1, sentence2, label — RTE, QNLI and WNLI share it.
const INDEXED_PAIR: GlueTaskSpec["splits"] = {
  train: { header: true, columns: 4, id: 0, textA: 1, textB: 2, label: 3 },
  dev: { header: true, columns: 4, id: 0, textA: 1, textB: 2, label: 3 },
  test: { header: true, columns: 3, id: 0, textA: 1, textB: 2 },
};

const MNLI_TEST: GlueLayout = {
  header: true,
  columns: 10,
  id: 0,
  textA: 8,
  textB: 9,
};
const MNLI_DEV: GlueLayout = {
  header: true,
  columns: 16,
  id: 0,
  textA: 8,
  textB: 9,
  label: 15,
};

/** Specs of all nine tasks, keyed by name. */
export const GLUE_TASKS: Readonly<Record<GlueTaskName, GlueTaskSpec>> = {
  "CoLA": {
    name: "CoLA",
    labels: BINARY,
    splits: {
      // source, label, original label (or empty), sentence; no header.
      train: { header: false, columns: 4, textA: 3, label: 1 },
      dev: { header: false, columns: 4, textA: 3, label: 1 },
      test: { header: true, columns: 2, id: 0, textA: 1 },
    },
  },
  "SST-2": {
    name: "SST-2",
    labels: BINARY,
    splits: {
      train: { header: true, columns: 2, textA: 0, label: 1 },
      dev: { header: true, columns: 2, textA: 0, label: 1 },
      test: { header: true, columns: 2, id: 0, textA: 1 },
    },
  },
  "MRPC": {
    name: "MRPC",
    labels: BINARY,
    splits: {
      // Quality, #1 ID, #2 ID, #1 String, #2 String (test: index instead of Quality).
      train: { header: true, columns: 5, textA: 3, textB: 4, label: 0 },
      dev: { header: true, columns: 5, textA: 3, textB: 4, label: 0 },
      test: { header: true, columns: 5, id: 0, textA: 3, textB: 4 },
    },
  },
  "STS-B": {
    name: "STS-B",
    labels: null,
    splits: {
      // index, genre, filename, year, old_index, source1, source2, sentence1, sentence2, score
      train: { header: true, columns: 10, id: 0, textA: 7, textB: 8, label: 9 },
      dev: { header: true, columns: 10, id: 0, textA: 7, textB: 8, label: 9 },
      test: { header: true, columns: 9, id: 0, textA: 7, textB: 8 },
    },
  },
  "QQP": {
    name: "QQP",
    labels: BINARY,
    splits: {
      // id, qid1, qid2, question1, question2, is_duplicate (test: id, question1, question2)
      train: { header: true, columns: 6, id: 0, textA: 3, textB: 4, label: 5 },
      dev: { header: true, columns: 6, id: 0, textA: 3, textB: 4, label: 5 },
      test: { header: true, columns: 3, id: 0, textA: 1, textB: 2 },
    },
  },
  "MNLI": {
    name: "MNLI",
    labels: ["contradiction", "entailment", "neutral"],
    splits: {
      // index, promptID, pairID, genre, 2 binary parses, 2 parses, sentence1,
      // sentence2, then label1 (train) or label1..label5 (dev), then gold_label.
      train: {
        header: true,
        columns: 12,
        id: 0,
        textA: 8,
        textB: 9,
        label: 11,
      },
      dev_matched: MNLI_DEV,
      dev_mismatched: MNLI_DEV,
      test_matched: MNLI_TEST,
      test_mismatched: MNLI_TEST,
    },
  },
  "QNLI": { name: "QNLI", labels: ENTAILMENT, splits: INDEXED_PAIR },
  "RTE": { name: "RTE", labels: ENTAILMENT, splits: INDEXED_PAIR },
  "WNLI": { name: "WNLI", labels: BINARY, splits: INDEXED_PAIR },
};

/** Path of a split's file relative to the GLUE data folder, e.g. "MNLI/dev_matched.tsv". */
export function glueFileName(task: GlueTaskName, split: GlueSplit): string {
  return `${task}/${split}.tsv`;
}
