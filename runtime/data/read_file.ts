/**
 * Deno file access for the data layer, kept apart so that every other module
 * in runtime/data/ stays free of Deno/Node APIs and runs in a browser.
 * Browser users fetch the same files themselves and call the parsers with
 * the text.
 *
 * @module
 */

import { BertTokenizer, type BertTokenizerOptions } from "./tokenizer.ts";
import { type GlueExample, parseGlue } from "./glue.ts";
import type { GlueSplit, GlueTaskName } from "./glue_tasks.ts";
import { glueFileName } from "./glue_tasks.ts";

/** Reads a UTF-8 text file (the BOM, if any, is kept for the parser to handle). */
export function readText(path: string): Promise<string> {
  return Deno.readTextFile(path);
}

/** Builds a tokenizer from a vocab.txt on disk. */
export async function loadTokenizer(
  vocabPath: string,
  options: BertTokenizerOptions = {},
): Promise<BertTokenizer> {
  return BertTokenizer.fromVocabText(await readText(vocabPath), options);
}

/**
 * Loads one GLUE split from a directory laid out as the GLUE download script
 * writes it (`<dataDir>/<TASK>/<split>.tsv`).
 *
 * @param dataDir Folder holding one subfolder per task, e.g. "shared/data".
 */
export async function loadGlueSplit(
  dataDir: string,
  task: GlueTaskName,
  split: GlueSplit,
): Promise<GlueExample[]> {
  const path = `${dataDir}/${glueFileName(task, split)}`;
  return parseGlue(task, split, await readText(path), path);
}
