import assert from "node:assert/strict";
import { basicTokenize } from "../../runtime/data/basic_tokenizer.ts";
import { EncodeOptionsError, VocabError } from "../../runtime/data/errors.ts";
import { BertTokenizer } from "../../runtime/data/tokenizer.ts";
import { Vocab } from "../../runtime/data/vocab.ts";
import { loadGlueSplit } from "../../runtime/data/read_file.ts";
import { bertTokenizer, DATA_DIR } from "./_shared.ts";

const tok = await bertTokenizer();

Deno.test("accents are stripped after lower-casing: é → e, Å → a, ά → α", () => {
  assert.deepEqual(basicTokenize("Héllo Ångström naïve CAFÉ ά"), [
    "hello",
    "angstrom",
    "naive",
    "cafe",
    "α",
  ]);
  assert.deepEqual(tok.tokenize("café"), ["cafe"]);
  // A word of combining marks only vanishes instead of leaving an empty token.
  assert.deepEqual(basicTokenize("a \u0301\u0302 b"), ["a", "b"]);
});

Deno.test("cased mode keeps case and accents", () => {
  assert.deepEqual(basicTokenize("Héllo, World", { lowerCase: false }), [
    "Héllo",
    ",",
    "World",
  ]);
});

Deno.test("CJK ideographs become separate tokens; other scripts do not", () => {
  assert.deepEqual(basicTokenize("ab中国cd"), ["ab", "中", "国", "cd"]);
  // Extension B (astral) and compatibility ideographs are in BERT's ranges;
  // NFD then maps the compatibility ideograph U+F900 to its unified U+8C48.
  assert.deepEqual(basicTokenize("x\u{20000}y\uF900z"), [
    "x",
    "\u{20000}",
    "y",
    "\u8C48",
    "z",
  ]);
  // Hiragana and Hangul are not "Chinese characters" to BERT.
  assert.deepEqual(basicTokenize("ひらがな한국어", { lowerCase: false }), [
    "ひらがな한국어",
  ]);
  // Uncased BERT's known quirk: NFD + mark stripping drops the dakuten.
  assert.deepEqual(basicTokenize("が"), ["か"]);
  assert.deepEqual(tok.tokenize("中国"), ["中", "国"]);
});

Deno.test("the CJK ranges are BERT's exactly, boundaries included", () => {
  // Each range's first code point and its last one assigned in Unicode 14
  // (unassigned ones are dropped as "C*" before this step, here and in Python).
  const inside = [
    0x4E00,
    0x9FFF,
    0x3400,
    0x4DBF,
    0x20000,
    0x2A6DF,
    0x2A700,
    0x2B738,
    0x2B740,
    0x2B81D,
    0x2B820,
    0x2CEA1,
    0xF900,
    0xFAD9,
    0x2F800,
    0x2FA1D,
  ];
  for (const cp of inside) {
    const c = String.fromCodePoint(cp);
    assert.deepEqual(basicTokenize(`x${c}y`, { lowerCase: false }), [
      "x",
      c,
      "y",
    ], cp.toString(16));
  }
  // Just outside: Yi, a CJK square symbol, a hexagram, CJK Ext. F and G
  // (newer than BERT's list, so not split).
  for (const cp of [0xA000, 0x33FF, 0x4DC0, 0x2CEB0, 0x30000]) {
    const word = `x${String.fromCodePoint(cp)}y`;
    assert.deepEqual(
      basicTokenize(word, { lowerCase: false }),
      [word],
      cp.toString(16),
    );
  }
});

Deno.test("punctuation: ASCII symbols and Unicode P* split, other symbols do not", () => {
  assert.deepEqual(basicTokenize("$5+3=8^x|y~z`"), [
    "$",
    "5",
    "+",
    "3",
    "=",
    "8",
    "^",
    "x",
    "|",
    "y",
    "~",
    "z",
    "`",
  ]);
  assert.deepEqual(basicTokenize("¿qué?—«no»"), [
    "¿",
    "que",
    "?",
    "—",
    "«",
    "no",
    "»",
  ]);
  // € is Sc and × is Sm, outside the ASCII ranges: not punctuation.
  assert.deepEqual(basicTokenize("5€ 2×3"), ["5€", "2×3"]);
  assert.deepEqual(tok.tokenize("don't stop..."), [
    "don",
    "'",
    "t",
    "stop",
    ".",
    ".",
    ".",
  ]);
});

Deno.test("WordPiece splits greedily with ## continuations", () => {
  assert.deepEqual(tok.tokenize("unaffable"), ["una", "##ffa", "##ble"]);
  assert.deepEqual(tok.tokenize("Tokenization"), ["token", "##ization"]);
});

Deno.test("a word with an unmatchable piece becomes one [UNK]", () => {
  assert.equal(tok.vocab.idOf("☃"), undefined);
  assert.deepEqual(tok.tokenize("hello ☃ snow☃man"), [
    "hello",
    "[UNK]",
    "[UNK]",
  ]);
});

Deno.test("words over 100 code points become [UNK]; 100 are still split", () => {
  assert.deepEqual(tok.tokenize("a".repeat(101)), ["[UNK]"]);
  const hundred = tok.tokenize("a".repeat(100));
  assert.ok(hundred.length > 1 && !hundred.includes("[UNK]"));
  // Length counts code points, not UTF-16 units: 60 astral letters = 120 units.
  const astral = "\u{1D41A}".repeat(60);
  assert.notDeepEqual(tok.tokenize(astral), ["[UNK]", "[UNK]"]);
  const short = new BertTokenizer(tok.vocab, { maxInputCharsPerWord: 3 });
  assert.deepEqual(short.tokenize("cat cats"), ["cat", "[UNK]"]);
});

Deno.test("control characters are dropped, whitespace controls separate words", () => {
  assert.deepEqual(basicTokenize("hel\u0000lo wo\u200Brld \u00ADsoft \uFFFD"), [
    "hello",
    "world",
    "soft",
  ]);
  assert.deepEqual(basicTokenize("a\tb\nc\r\nd\u00A0e\u3000f"), [
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
  ]);
  // U+0085 is a control character (dropped, joins), U+2028 a line separator (splits).
  assert.deepEqual(basicTokenize("a\u0085b c\u2028d"), ["ab", "c", "d"]);
});

Deno.test("empty and blank strings encode to special tokens only", () => {
  const { cls, sep } = tok.vocab.special;
  assert.deepEqual(tok.tokenize(""), []);
  assert.deepEqual(tok.tokenize(" \t\n "), []);
  assert.deepEqual(tok.encode(""), {
    inputIds: [cls, sep],
    tokenTypeIds: [0, 0],
  });
  assert.deepEqual(tok.encode("", ""), {
    inputIds: [cls, sep, sep],
    tokenTypeIds: [0, 0, 1],
  });
});

Deno.test("pairs encode as [CLS] a [SEP] b [SEP] with segment ids 0/1", () => {
  const { cls, sep } = tok.vocab.special;
  const a = tok.tokenizeToIds("The cat sat.");
  const b = tok.tokenizeToIds("It was tired!");
  const enc = tok.encode("The cat sat.", "It was tired!");
  assert.deepEqual(enc.inputIds, [cls, ...a, sep, ...b, sep]);
  assert.deepEqual(enc.tokenTypeIds, [
    ...Array(a.length + 2).fill(0),
    ...Array(b.length + 1).fill(1),
  ]);
});

Deno.test("pair truncation removes from the longer side, from b on ties", () => {
  const a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const b = [11, 12, 13, 14];
  const { cls, sep } = tok.vocab.special;
  // 14 tokens into 7: a shrinks to 4 (= b), then b loses one, then stop.
  assert.deepEqual(tok.encodeIds(a, b, { maxLength: 10 }).inputIds, [
    cls,
    1,
    2,
    3,
    4,
    sep,
    11,
    12,
    13,
    sep,
  ]);
  // Equal sides: b first, then a, alternating.
  assert.deepEqual(tok.encodeIds([1, 2], [3, 4], { maxLength: 6 }).inputIds, [
    cls,
    1,
    2,
    sep,
    3,
    sep,
  ]);
  assert.deepEqual(tok.encodeIds([1, 2], [3, 4], { maxLength: 5 }).inputIds, [
    cls,
    1,
    sep,
    3,
    sep,
  ]);
  // A single sentence keeps its first maxLength - 2 tokens.
  assert.deepEqual(tok.encodeIds(a, undefined, { maxLength: 5 }).inputIds, [
    cls,
    1,
    2,
    3,
    sep,
  ]);
  assert.deepEqual(tok.encodeIds(a, b, { maxLength: 100 }).inputIds.length, 17);
});

Deno.test("a maxLength that cannot hold the special tokens is rejected", () => {
  assert.throws(() => tok.encode("a", "b", { maxLength: 2 }), (e: unknown) => {
    assert.ok(e instanceof EncodeOptionsError);
    assert.equal(e.option, "maxLength");
    assert.match(e.message, /at least 3/);
    return true;
  });
  assert.deepEqual(
    tok.encode("a b c", undefined, { maxLength: 2 }).inputIds.length,
    2,
  );
});

Deno.test("encodeBatch pads to the longest row or to a fixed length", () => {
  const { pad } = tok.vocab.special;
  const batch = tok.encodeBatch([["a b c d", undefined], ["a", "b"]]);
  assert.equal(batch.batchSize, 2);
  assert.equal(batch.seqLength, 6);
  assert.deepEqual([...batch.attentionMask], [
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    0,
  ]);
  assert.deepEqual([...batch.tokenTypeIds], [
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    1,
    0,
  ]);
  assert.equal(batch.inputIds[11], pad);
  const fixed = tok.encodeBatch([["a b c d e f", undefined]], {
    maxLength: 4,
    padding: 8,
  });
  assert.equal(fixed.seqLength, 8);
  assert.deepEqual([...fixed.attentionMask], [1, 1, 1, 1, 0, 0, 0, 0]);
  assert.throws(
    () => tok.encodeBatch([["a b c d e f", undefined]], { padding: 4 }),
    EncodeOptionsError,
  );
});

Deno.test("vocab ids are line numbers; missing special tokens are named", () => {
  const v = Vocab.fromText(
    "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\n",
  );
  assert.equal(v.size, 6);
  assert.equal(v.idOf("##s"), 5);
  assert.equal(v.special.mask, -1);
  assert.equal(new BertTokenizer(v).tokenize("Hellos")[1], "##s");
  assert.throws(
    () => Vocab.fromText("[PAD]\n[CLS]\n[SEP]\n"),
    (e: unknown) => e instanceof VocabError && e.token === "[UNK]",
  );
  assert.equal(tok.vocab.size, 30522);
  assert.deepEqual(tok.vocab.special, {
    pad: 0,
    unk: 100,
    cls: 101,
    sep: 102,
    mask: 103,
  });
});

Deno.test("SST-2 train (67k sentences) tokenises in a few seconds", async () => {
  const train = await loadGlueSplit(DATA_DIR, "SST-2", "train");
  // A fresh tokenizer, so the word cache starts empty as in a real run.
  const fresh = new BertTokenizer(tok.vocab);
  const start = performance.now();
  let tokens = 0;
  for (const e of train) {
    tokens +=
      fresh.encode(e.textA, undefined, { maxLength: 128 }).inputIds.length;
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `SST-2 train: ${train.length} sentences, ${tokens} tokens in ${
      seconds.toFixed(2)
    } s`,
  );
  assert.equal(train.length, 67349);
  assert.ok(seconds < 5, `took ${seconds} s`);
});
