/**
 * Compares runtime/data's BertTokenizer with Hugging Face's own Rust
 * tokenizer (the npm "tokenizers" package, Node-API build) on every sentence
 * of every staged GLUE file and on the SQuAD dev questions and contexts, and
 * prints per-file agreement counts and the first mismatches.
 *
 * The HF tokenizer is configured as bert-base-uncased's tokenizer.json is
 * (BertNormalizer with lowercase, BertPreTokenizer, WordPiece), minus its
 * added special tokens, which would also match a literal "[SEP]" in text.
 *
 * Run: deno run -A bench/check_tokenizer.ts [--shared ../shared]
 *
 * @module
 */

import { Tokenizer } from "tokenizers";
import { parseGlue } from "../runtime/data/glue.ts";
import type { GlueSplit, GlueTaskName } from "../runtime/data/glue_tasks.ts";
import { readText } from "../runtime/data/read_file.ts";
import { parseSquad } from "../runtime/data/squad_examples.ts";
import { BertTokenizer } from "../runtime/data/tokenizer.ts";

const sharedFlag = Deno.args.indexOf("--shared");
const shared = sharedFlag >= 0
  ? Deno.args[sharedFlag + 1]
  : new URL("../../shared", import.meta.url).pathname;
const vocabText = await readText(
  `${shared}/models/bert-base-uncased/vocab.txt`,
);
const ours = BertTokenizer.fromVocabText(vocabText);
const hf = hfBertTokenizer(vocabText);

const glueFiles: [GlueTaskName, GlueSplit][] =
  (["CoLA", "SST-2", "MRPC", "STS-B", "RTE"] as const)
    .flatMap((task) =>
      (["train", "dev", "test"] as const).map((
        split,
      ): [GlueTaskName, GlueSplit] => [task, split])
    );
let allSame = true;
for (const [task, split] of glueFiles) {
  const file = `${shared}/data/${task}/${split}.tsv`;
  const examples = parseGlue(task, split, await readText(file), file);
  const texts = examples.flatMap((e) =>
    e.textB === undefined ? [e.textA] : [e.textA, e.textB]
  );
  allSame = await compare(`${task}/${split}`, texts) && allSame;
}
const squad = parseSquad(
  await readText(`${shared}/data/squad-v1.1/dev-v1.1.json`),
  "dev-v1.1.json",
);
allSame = await compare(
  "squad-v1.1 questions",
  squad.examples.map((e) => e.question),
) && allSame;
allSame = await compare("squad-v1.1 contexts", [
  ...new Set(squad.examples.map((e) => e.context)),
]) && allSame;
Deno.exit(allSame ? 0 : 1);

async function compare(label: string, texts: string[]): Promise<boolean> {
  const t0 = performance.now();
  const theirs = (await hf.encodeBatch(texts, { addSpecialTokens: false })).map(
    (e) => e.getIds(),
  );
  const t1 = performance.now();
  const mine = texts.map((t) => ours.tokenizeToIds(t));
  const t2 = performance.now();
  const bad = texts.map((_, i) => i).filter((i) =>
    mine[i].join() !== theirs[i].join()
  );
  console.log(
    `${label}: ${texts.length - bad.length}/${texts.length} texts identical ` +
      `(ours ${(t2 - t1).toFixed(0)} ms, HF ${(t1 - t0).toFixed(0)} ms)`,
  );
  for (const i of bad.slice(0, 3)) {
    console.log(
      `  ${JSON.stringify(texts[i])}\n    ours ${mine[i].join(" ")}\n    HF   ${
        theirs[i].join(" ")
      }`,
    );
  }
  return bad.length === 0;
}

function hfBertTokenizer(vocabFile: string): Tokenizer {
  const lines = vocabFile.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return Tokenizer.fromString(JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: null,
    decoder: null,
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(lines.map((token, id) => [token, id])),
    },
  }));
}
