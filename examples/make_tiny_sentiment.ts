/**
 * Writes the tiny sentiment set the demo fine-tunes on
 * (`examples/data/tiny-sentiment/{train,dev}.tsv`, SST-2 layout, and a
 * word-level `vocab.txt` with BERT's special tokens): short
 * templated sentences whose label is the polarity of their adjective,
 * flipped by a negation. Seeded, so the committed files are reproducible:
 * `npx --yes deno@2.9.6 run -A examples/make_tiny_sentiment.ts`.
 *
 * @module
 */

const POSITIVE = [
  "good",
  "great",
  "wonderful",
  "funny",
  "moving",
  "brilliant",
  "charming",
  "fresh",
  "clever",
  "warm",
];
const NEGATIVE = [
  "bad",
  "dull",
  "boring",
  "awful",
  "flat",
  "tedious",
  "clumsy",
  "stale",
  "silly",
  "cold",
];
const SUBJECTS = [
  "the movie",
  "this film",
  "the story",
  "the acting",
  "the script",
  "the ending",
  "the cast",
  "the music",
];
const VERBS = ["is", "was", "feels", "seems"];
const INTENSIFIERS = ["", "really ", "very ", "quite ", "truly "];

/** mulberry32: a small seeded generator, so the files are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentences(count: number, seed: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const rows = ["sentence\tlabel"];
  for (let i = 0; i < count; i++) {
    const positive = r() < 0.5;
    const negated = r() < 0.3;
    const adjective = pick(positive ? POSITIVE : NEGATIVE);
    const verb = pick(VERBS);
    const text = `${pick(SUBJECTS)} ${verb} ${negated ? "not " : ""}${
      pick(INTENSIFIERS)
    }${adjective}`;
    rows.push(`${text}\t${positive !== negated ? 1 : 0}`);
  }
  return rows;
}

if (import.meta.main) {
  const dir = new URL("./data/tiny-sentiment/", import.meta.url).pathname;
  await Deno.writeTextFile(
    `${dir}train.tsv`,
    sentences(800, 1).join("\n") + "\n",
  );
  await Deno.writeTextFile(
    `${dir}dev.tsv`,
    sentences(200, 2).join("\n") + "\n",
  );
  const words = [
    ...SUBJECTS,
    ...VERBS,
    ...INTENSIFIERS,
    ...POSITIVE,
    ...NEGATIVE,
    "not",
  ]
    .flatMap((w) => w.split(" "))
    .filter((w) => w !== "");
  const vocab = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    ...new Set(words.sort()),
  ];
  await Deno.writeTextFile(`${dir}vocab.txt`, vocab.join("\n") + "\n");
  console.log(
    `wrote train.tsv, dev.tsv and vocab.txt (${vocab.length} tokens) in ${dir}`,
  );
}
