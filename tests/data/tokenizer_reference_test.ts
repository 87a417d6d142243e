/**
 * Our tokenizer against bench/tokenizer_reference.py, an independent Python
 * implementation of the same algorithm, on every dev example of the staged
 * GLUE tasks (WordPiece ids of each sentence and the truncated pair
 * encoding), and on seeded random strings drawn from the character classes
 * BERT treats specially. python3 is on every machine of this project (CI
 * included), so these tests require it.
 */

import assert from "node:assert/strict";
import type { GlueTaskName } from "../../runtime/data/glue_tasks.ts";
import { loadGlueSplit } from "../../runtime/data/read_file.ts";
import { Rng } from "../../runtime/data/rng.ts";
import { bertTokenizer, DATA_DIR, VOCAB_PATH } from "./_shared.ts";

interface ReferenceExample {
  a: number[];
  b: number[] | null;
  inputIds: number[];
  tokenTypeIds: number[];
}

interface Reference {
  maxLength: number;
  tasks: Record<string, ReferenceExample[]>;
  strings?: number[][];
}

const SCRIPT =
  new URL("../../bench/tokenizer_reference.py", import.meta.url).pathname;
const TASKS: GlueTaskName[] = ["CoLA", "SST-2", "MRPC", "STS-B", "RTE"];

async function runReference(args: string[]): Promise<Reference> {
  const out = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const result = await new Deno.Command("python3", {
      args: [SCRIPT, "--vocab", VOCAB_PATH, "--out", out, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(result.success, new TextDecoder().decode(result.stderr));
    return JSON.parse(await Deno.readTextFile(out));
  } finally {
    await Deno.remove(out);
  }
}

// Code point ranges of every class the tokenizer treats specially, all
// assigned before Unicode 14 so Python's and the JS engine's tables agree.
const FUZZ_RANGES: [number, number][] = [
  [0x20, 0x7e], // ASCII, incl. the symbols BERT counts as punctuation
  [0x61, 0x7a], // lower-case letters again, so real words form
  [0x00, 0x1f], // C0 controls with \t \n \r
  [0x7f, 0xa0], // DEL, C1 controls, NBSP
  [0xc0, 0x17f], // accented Latin
  [0x300, 0x36f], // combining marks (Mn)
  [0x391, 0x3c9], // Greek
  [0x2000, 0x2064], // spaces, zero-widths, dashes, quotes, U+2028/2029
  [0x3000, 0x3003], // ideographic space and punctuation
  [0x3041, 0x3096], // hiragana (decomposes under NFD)
  [0x4e00, 0x4e80], // CJK ideographs
  [0xf900, 0xf920], // CJK compatibility ideographs (NFD singletons)
  [0xac00, 0xac40], // Hangul syllables (decompose to jamo)
  [0xfffc, 0xfffd], // U+FFFD, dropped by clean-up
  [0x1f600, 0x1f64f], // emoji (astral)
  [0x20000, 0x20040], // CJK extension B (astral)
];

function fuzzStrings(count: number, seed: number): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const chars: number[] = [];
    const length = rng.nextInt(40);
    for (let i = 0; i < length; i++) {
      const [lo, hi] = FUZZ_RANGES[rng.nextInt(FUZZ_RANGES.length)];
      chars.push(lo + rng.nextInt(hi - lo + 1));
    }
    return String.fromCodePoint(...chars);
  });
}

Deno.test({
  name:
    "tokenizer ids equal the Python reference on 3000 random Unicode strings",
  async fn() {
    const strings = fuzzStrings(3000, 20240601);
    const input = await Deno.makeTempFile({ suffix: ".json" });
    try {
      await Deno.writeTextFile(input, JSON.stringify(strings));
      const expected = (await runReference(["--strings", input])).strings ?? [];
      const tok = await bertTokenizer();
      assert.equal(expected.length, strings.length);
      strings.forEach((s, i) =>
        assert.deepEqual(
          tok.tokenizeToIds(s),
          expected[i],
          `string ${JSON.stringify(s)}`,
        )
      );
      const unk = tok.vocab.special.unk;
      const realTokens = expected.flat().filter((id) => id !== unk).length;
      assert.ok(
        realTokens > 10_000,
        `fuzz strings produced only ${realTokens} non-[UNK] tokens`,
      );
    } finally {
      await Deno.remove(input);
    }
  },
});

Deno.test({
  name:
    "tokenizer ids equal the Python reference on every staged GLUE dev example",
  async fn() {
    const reference = await runReference([
      "--data-dir",
      DATA_DIR,
      "--max-length",
      "64",
    ]);
    const tok = await bertTokenizer();
    let truncated = 0;
    for (const task of TASKS) {
      const dev = await loadGlueSplit(DATA_DIR, task, "dev");
      const expected = reference.tasks[task];
      assert.equal(dev.length, expected.length, `${task}: example count`);
      let same = 0;
      dev.forEach((example, i) => {
        const a = tok.tokenizeToIds(example.textA);
        const b = example.textB === undefined
          ? undefined
          : tok.tokenizeToIds(example.textB);
        const enc = tok.encodeIds(a, b, { maxLength: reference.maxLength });
        const want = expected[i];
        const where = `${task} dev line ${example.line}`;
        assert.deepEqual(a, want.a, `${where}: sentence a`);
        assert.deepEqual(b ?? null, want.b, `${where}: sentence b`);
        assert.deepEqual(
          enc.inputIds,
          want.inputIds,
          `${where}: truncated input ids`,
        );
        assert.deepEqual(
          enc.tokenTypeIds,
          want.tokenTypeIds,
          `${where}: token type ids`,
        );
        if (
          a.length + (b?.length ?? 0) + (b === undefined ? 2 : 3) >
            reference.maxLength
        ) truncated++;
        same++;
      });
      console.log(`${task}: ${same}/${dev.length} dev examples identical`);
    }
    // The comparison must have exercised truncation, not only short inputs.
    assert.ok(truncated > 100, `only ${truncated} examples needed truncation`);
    console.log(
      `${truncated} examples were truncated to ${reference.maxLength} tokens`,
    );
  },
});
