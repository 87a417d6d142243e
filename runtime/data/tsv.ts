/**
 * Tab-separated rows read the way GLUE's processors read them: Python
 * `open(encoding="utf-8-sig")` with universal newlines, then
 * `csv.reader(delimiter="\t", quotechar=None)` — split on tabs only, quotes
 * are ordinary characters.
 *
 * @module
 */

/** One line of a TSV file. */
export interface TsvRow {
  /** 1-based line number in the file, for error messages. */
  readonly line: number;
  /** The tab-separated fields, unchanged (no trimming, no unquoting). */
  readonly fields: string[];
}

/**
 * Splits TSV text into rows.
 *
 * A leading UTF-8 byte-order mark is dropped (MRPC has one). Lines end at
 * "\r\n", "\r" or "\n"; the empty string after a final line end is not a row,
 * but any other empty line is returned (as one empty field) so the caller can
 * reject it with its line number.
 */
export function parseTsv(text: string): TsvRow[] {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines.map((l, i) => ({ line: i + 1, fields: l.split("\t") }));
}
