import assert from "node:assert/strict";
import { DataFormatError } from "../../runtime/data/errors.ts";
import { type GlueExample, parseGlue } from "../../runtime/data/glue.ts";
import {
  GLUE_TASKS,
  type GlueSplit,
  type GlueTaskName,
} from "../../runtime/data/glue_tasks.ts";
import { loadGlueSplit } from "../../runtime/data/read_file.ts";
import { DATA_DIR } from "./_shared.ts";

function labelCounts(
  examples: readonly GlueExample[],
  task: GlueTaskName,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of examples) {
    const name = GLUE_TASKS[task].labels![e.label!];
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

// Row counts and label splits from shared/data/MANIFEST.md.
const STAGED: [
  GlueTaskName,
  GlueSplit,
  number,
  Record<string, number> | null,
][] = [
  ["CoLA", "train", 8551, { "0": 2528, "1": 6023 }],
  ["CoLA", "dev", 1043, { "0": 322, "1": 721 }],
  ["CoLA", "test", 1063, null],
  ["SST-2", "train", 67349, { "0": 29780, "1": 37569 }],
  ["SST-2", "dev", 872, { "0": 428, "1": 444 }],
  ["SST-2", "test", 1821, null],
  ["MRPC", "train", 3668, { "0": 1194, "1": 2474 }],
  ["MRPC", "dev", 408, { "0": 129, "1": 279 }],
  ["MRPC", "test", 1725, null],
  ["RTE", "train", 2490, { entailment: 1249, not_entailment: 1241 }],
  ["RTE", "dev", 277, { entailment: 146, not_entailment: 131 }],
  ["RTE", "test", 3000, null],
  ["STS-B", "train", 5749, null],
  ["STS-B", "dev", 1500, null],
  ["STS-B", "test", 1379, null],
];

for (const [task, split, rows, labels] of STAGED) {
  Deno.test(`${task} ${split}: ${rows} rows as in the MANIFEST`, async () => {
    const examples = await loadGlueSplit(DATA_DIR, task, split);
    assert.equal(examples.length, rows);
    if (labels !== null) assert.deepEqual(labelCounts(examples, task), labels);
    const isTest = split === "test";
    assert.equal(examples.every((e) => e.label === undefined), isTest);
    const pair = GLUE_TASKS[task].splits[split]!.textB !== undefined;
    assert.ok(
      examples.every((e) =>
        (e.textB !== undefined) === pair && e.textA.length > 0
      ),
    );
  });
}

Deno.test("STS-B scores are numbers with the MANIFEST's means", async () => {
  const mean = (xs: GlueExample[]) =>
    xs.reduce((s, e) => s + e.label!, 0) / xs.length;
  assert.equal(
    mean(await loadGlueSplit(DATA_DIR, "STS-B", "dev")).toFixed(3),
    "2.364",
  );
  assert.equal(
    mean(await loadGlueSplit(DATA_DIR, "STS-B", "train")).toFixed(3),
    "2.701",
  );
});

Deno.test("columns land in the right fields (MRPC's BOM header, CoLA's headerless rows, RTE ids)", async () => {
  const mrpc = await loadGlueSplit(DATA_DIR, "MRPC", "train");
  assert.equal(mrpc[0].line, 2);
  assert.equal(mrpc[0].label, 1);
  assert.match(mrpc[0].textA, /^Amrozi accused his brother/);
  assert.match(mrpc[0].textB!, /^Referring to him as only/);
  const cola = await loadGlueSplit(DATA_DIR, "CoLA", "dev");
  assert.deepEqual(cola[0], {
    id: "dev-0",
    textA: "The sailors rode the breeze clear of the rocks.",
    label: 1,
    line: 1,
  });
  const rte = await loadGlueSplit(DATA_DIR, "RTE", "dev");
  assert.equal(rte[0].id, "0");
  assert.equal(rte[0].textB, "Christopher Reeve had an accident.");
  assert.equal(rte[0].label, 1);
  const sts = await loadGlueSplit(DATA_DIR, "STS-B", "dev");
  assert.deepEqual(sts[0], {
    id: "0",
    textA: "A man with a hard hat is dancing.",
    textB: "A man wearing a hard hat is dancing.",
    label: 5,
    line: 2,
  });
});

// Synthetic files in the layouts of the tasks not staged in shared/data.
const QQP_TRAIN = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n" +
  "0\t1\t2\tHow do I learn?\tWhat is the way to learn?\t1\n" +
  '1\t3\t4\tIs "x" y?\tWhy z?\t0\n';
const QQP_TEST = "id\tquestion1\tquestion2\n7\tWho?\tWhom?\n";
const MNLI_HEAD =
  "index\tpromptID\tpairID\tgenre\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2";
const MNLI_ROW =
  "3\t31193\t31193n\tgov\t( x )\t( y )\t(ROOT x)\t(ROOT y)\tThe cat sat.\tA cat rested.";
const MNLI_TRAIN =
  `${MNLI_HEAD}\tlabel1\tgold_label\n${MNLI_ROW}\tneutral\tneutral\n`;
const MNLI_DEV =
  `${MNLI_HEAD}\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n` +
  `${MNLI_ROW}\tcontradiction\tneutral\tcontradiction\tcontradiction\tcontradiction\tcontradiction\n`;
const MNLI_TEST = `${MNLI_HEAD}\n${MNLI_ROW}\n`;
const QNLI_DEV =
  "index\tquestion\tsentence\tlabel\n0\tWhat is it?\tIt is a test.\tentailment\n";
const WNLI_DEV =
  "index\tsentence1\tsentence2\tlabel\n0\tThe trophy didn't fit.\tThe trophy was big.\t1\n";

Deno.test("QQP, MNLI, QNLI and WNLI layouts parse, test splits unlabelled", () => {
  const qqp = parseGlue("QQP", "train", QQP_TRAIN, "QQP/train.tsv");
  assert.deepEqual(qqp.map((e) => [e.id, e.textA, e.textB, e.label]), [
    ["0", "How do I learn?", "What is the way to learn?", 1],
    ["1", 'Is "x" y?', "Why z?", 0],
  ]);
  assert.deepEqual(parseGlue("QQP", "test", QQP_TEST, "QQP/test.tsv"), [
    { id: "7", textA: "Who?", textB: "Whom?", line: 2 },
  ]);
  const train = parseGlue("MNLI", "train", MNLI_TRAIN, "MNLI/train.tsv")[0];
  assert.deepEqual([train.textA, train.textB, train.label], [
    "The cat sat.",
    "A cat rested.",
    2,
  ]);
  for (const split of ["dev_matched", "dev_mismatched"] as const) {
    assert.equal(
      parseGlue("MNLI", split, MNLI_DEV, `MNLI/${split}.tsv`)[0].label,
      0,
    );
  }
  const test = parseGlue(
    "MNLI",
    "test_mismatched",
    MNLI_TEST,
    "MNLI/test_mismatched.tsv",
  )[0];
  assert.equal(test.label, undefined);
  assert.equal(test.textB, "A cat rested.");
  assert.equal(parseGlue("QNLI", "dev", QNLI_DEV, "QNLI/dev.tsv")[0].label, 0);
  assert.equal(parseGlue("WNLI", "dev", WNLI_DEV, "WNLI/dev.tsv")[0].label, 1);
});

Deno.test("GLUE label sets", () => {
  assert.deepEqual(GLUE_TASKS.MNLI.labels, [
    "contradiction",
    "entailment",
    "neutral",
  ]);
  assert.deepEqual(GLUE_TASKS.QNLI.labels, ["entailment", "not_entailment"]);
  assert.deepEqual(GLUE_TASKS.RTE.labels, ["entailment", "not_entailment"]);
  assert.equal(GLUE_TASKS["STS-B"].labels, null);
  for (const task of ["CoLA", "SST-2", "MRPC", "QQP", "WNLI"] as const) {
    assert.deepEqual(GLUE_TASKS[task].labels, ["0", "1"]);
  }
});

function assertBadRow(
  fn: () => unknown,
  file: string,
  line: number,
  reason: RegExp,
): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, String(e));
    assert.equal(e.file, file);
    assert.equal(e.line, line);
    assert.match(e.reason, reason);
    assert.ok(e.message.includes(`${file}, line ${line}`), e.message);
    return true;
  });
}

Deno.test("bad rows raise DataFormatError with file and 1-based line", () => {
  const sst = "sentence\tlabel\ngood\t1\nbad row\t1\textra\n";
  assertBadRow(
    () => parseGlue("SST-2", "dev", sst, "SST-2/dev.tsv"),
    "SST-2/dev.tsv",
    3,
    /3 tab-separated column\(s\), expected 2/,
  );
  assertBadRow(
    () =>
      parseGlue(
        "RTE",
        "dev",
        "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n",
        "RTE/dev.tsv",
      ),
    "RTE/dev.tsv",
    2,
    /label "maybe" is not one of "entailment", "not_entailment"/,
  );
  const sts = "h\th\th\th\th\th\th\th\th\th\n" +
    "0\tg\tf\ty\t0\tn\tn\ta\tb\t4.0\n" + "1\tg\tf\ty\t1\tn\tn\ta\tb\tfive\n";
  assertBadRow(
    () => parseGlue("STS-B", "train", sts, "STS-B/train.tsv"),
    "STS-B/train.tsv",
    3,
    /score "five" is not a number/,
  );
  assertBadRow(
    () => parseGlue("STS-B", "train", sts.replace("five", ""), "x.tsv"),
    "x.tsv",
    3,
    /score "" is not a number/,
  );
  // A blank line in the middle is a bad row too; a final newline is not.
  assertBadRow(
    () =>
      parseGlue("CoLA", "dev", "s\t1\t\tok\n\ns\t0\t*\tbad\n", "CoLA/dev.tsv"),
    "CoLA/dev.tsv",
    2,
    /1 tab-separated/,
  );
  assert.equal(
    parseGlue("CoLA", "dev", "s\t1\t\tok\r\ns\t0\t*\tno\r\n", "c").length,
    2,
  );
  // A header of the wrong width means the wrong task or split file.
  assertBadRow(
    () => parseGlue("MNLI", "dev_matched", MNLI_TRAIN, "MNLI/dev_matched.tsv"),
    "MNLI/dev_matched.tsv",
    1,
    /header has 12/,
  );
  // A label from another task's set is unknown.
  assertBadRow(
    () => parseGlue("WNLI", "dev", QNLI_DEV, "WNLI/dev.tsv"),
    "WNLI/dev.tsv",
    2,
    /label "entailment"/,
  );
});

Deno.test("asking for a split the task lacks names the valid ones", () => {
  assert.throws(
    () => parseGlue("MNLI", "dev", MNLI_DEV, "MNLI/dev.tsv"),
    (e: unknown) => {
      assert.ok(e instanceof DataFormatError);
      assert.match(
        e.message,
        /no split "dev".*train, dev_matched, dev_mismatched/,
      );
      return true;
    },
  );
});

Deno.test("quotes are ordinary characters, as with GLUE's quotechar=None", () => {
  const rows = parseGlue(
    "SST-2",
    "dev",
    'sentence\tlabel\n" a "" b\t0\n',
    "q.tsv",
  );
  assert.equal(rows[0].textA, '" a "" b');
});
