/**
 * GLUE TSV text → examples, with every row checked against its task's layout.
 *
 * @example
 * ```ts
 * const dev = parseGlue("RTE", "dev", tsvText, "RTE/dev.tsv");
 * dev[0]; // { id: "0", textA: "Dana Reeve, ...", textB: "...", label: 1, line: 2 }
 * ```
 *
 * @module
 */

import { DataFormatError } from "./errors.ts";
import {
  GLUE_TASKS,
  type GlueLayout,
  type GlueSplit,
  type GlueTaskName,
} from "./glue_tasks.ts";
import { parseTsv } from "./tsv.ts";

/** One GLUE example. */
export interface GlueExample {
  /** The id column's value, or "<split>-<row index>" when the file has none. */
  readonly id: string;
  /** First (or only) sentence. */
  readonly textA: string;
  /** Second sentence of pair tasks. */
  readonly textB?: string;
  /**
   * Class index into the task's `labels`, or the similarity score for STS-B;
   * undefined in unlabelled (test) splits.
   */
  readonly label?: number;
  /** 1-based line in the source file, to trace a prediction back to its row. */
  readonly line: number;
}

// A decimal number as Python's float() reads GLUE scores; rejects "", "5.0x".
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * Parses one split of a GLUE task.
 *
 * @param task Task name, e.g. "MNLI".
 * @param split Split name; must be one the task has ("dev_matched" for MNLI).
 * @param text The whole file.
 * @param file File name used in error messages.
 * @throws {DataFormatError} naming the file and 1-based line of the first row
 * with the wrong number of columns, an unknown label or a non-numeric score;
 * also if the task has no such split.
 */
export function parseGlue(
  task: GlueTaskName,
  split: GlueSplit,
  text: string,
  file: string,
): GlueExample[] {
  const spec = GLUE_TASKS[task];
  const layout = spec.splits[split];
  if (layout === undefined) {
    throw new DataFormatError(
      file,
      0,
      `task ${task} has no split "${split}"`,
      `Use one of: ${Object.keys(spec.splits).join(", ")}.`,
    );
  }
  const rows = parseTsv(text);
  const body = layout.header ? rows.slice(1) : rows;
  if (layout.header && rows.length > 0) {
    checkWidth(rows[0], layout, file, "header");
  }
  return body.map((row, index) => {
    checkWidth(row, layout, file, "row");
    const f = row.fields;
    return {
      id: layout.id === undefined ? `${split}-${index}` : f[layout.id],
      textA: f[layout.textA],
      ...(layout.textB === undefined ? {} : { textB: f[layout.textB] }),
      ...(layout.label === undefined
        ? {}
        : { label: parseLabel(f[layout.label], spec.labels, file, row.line) }),
      line: row.line,
    };
  });
}

function checkWidth(
  row: { line: number; fields: string[] },
  layout: GlueLayout,
  file: string,
  what: "header" | "row",
): void {
  if (row.fields.length === layout.columns) return;
  throw new DataFormatError(
    file,
    row.line,
    `${what} has ${row.fields.length} tab-separated column(s), expected ${layout.columns}`,
    what === "header"
      ? "Check that the file is the named task and split of the GLUE download."
      : "Fix or remove the row; fields must not contain tabs or line breaks.",
  );
}

function parseLabel(
  raw: string,
  labels: readonly string[] | null,
  file: string,
  line: number,
): number {
  if (labels === null) {
    if (!NUMBER.test(raw)) {
      throw new DataFormatError(file, line, `score "${raw}" is not a number`);
    }
    return Number(raw);
  }
  const index = labels.indexOf(raw);
  if (index < 0) {
    throw new DataFormatError(
      file,
      line,
      `label "${raw}" is not one of ${labels.map((l) => `"${l}"`).join(", ")}`,
    );
  }
  return index;
}
