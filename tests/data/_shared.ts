/**
 * Locations of the read-only shared data the data-layer tests read, and a
 * tokenizer built once from the bert-base-uncased vocabulary.
 *
 * @module
 */

import { loadTokenizer } from "../../runtime/data/read_file.ts";
import type { BertTokenizer } from "../../runtime/data/tokenizer.ts";

/** The shared folder, beside the repository. */
export const SHARED = new URL("../../../shared/", import.meta.url).pathname;

/** The GLUE/SQuAD folder. */
export const DATA_DIR = `${SHARED}data`;

/** bert-base-uncased's vocab.txt. */
export const VOCAB_PATH = `${SHARED}models/bert-base-uncased/vocab.txt`;

let tokenizer: Promise<BertTokenizer> | undefined;

/** The uncased BERT tokenizer, loaded on first use and shared by the tests. */
export function bertTokenizer(): Promise<BertTokenizer> {
  tokenizer ??= loadTokenizer(VOCAB_PATH);
  return tokenizer;
}
