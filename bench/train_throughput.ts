/**
 * Training throughput side by side, in one run on one machine: tessera's
 * `deno task finetune` for each precision recipe and thread count, and
 * PyTorch f32 fine-tuning of the same model (`bench/pytorch_finetune.py`)
 * on the same threads — the same task, examples, batch size, sequence
 * length and learning rate, one epoch each, runs one after another.
 * tokens/s are real (non-padding) training tokens per second of training
 * time (evaluation excluded) on both sides; peak RSS is each process's.
 *
 * Usage: `deno run -A bench/train_throughput.ts [--task mrpc]
 * [--samples 512] [--batch 32] [--seq 128] [--recipes fp32,int8,int8-a2]
 * [--threads 1,2] [--python /usr/bin/python3] [--out runs/throughput]`;
 * `--python ''` skips PyTorch.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    task: { type: "string", default: "mrpc" },
    samples: { type: "string", default: "512" },
    batch: { type: "string", default: "32" },
    seq: { type: "string", default: "128" },
    recipes: { type: "string", default: "fp32,int8,int8-a2" },
    threads: { type: "string", default: "1,2" },
    python: { type: "string", default: "/usr/bin/python3" },
    out: { type: "string", default: "runs/throughput" },
  },
});

/** GLUE file names of the tasks, as PyTorch's script spells them. */
const TORCH_TASKS: Record<string, string> = {
  cola: "CoLA",
  sst2: "SST-2",
  mrpc: "MRPC",
  stsb: "STS-B",
  rte: "RTE",
};
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const HERE = new URL(".", import.meta.url).pathname;
const LR = "1e-4";

interface Row {
  readonly runner: string;
  readonly threads: number;
  readonly tokensPerSecond: number;
  readonly peakMiB: number;
}

/** Runs `cmd` with its output shown; throws if it fails. */
async function run(cmd: string[]): Promise<void> {
  console.error(`$ ${cmd.join(" ")}`);
  const { code } = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`'${cmd.join(" ")}' exited with ${code}.`);
}

async function tessera(recipe: string, threads: number): Promise<Row> {
  const dir = join(values.out, `${values.task}-${recipe}-t${threads}`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await run([
    Deno.execPath(),
    "run",
    "-A",
    join(HERE, "../src/cli/finetune.ts"),
    "--task",
    values.task,
    "--precision",
    recipe,
    "--epochs",
    "1",
    "--lr",
    LR,
    "--batch",
    values.batch,
    "--seq",
    values.seq,
    "--max-train-samples",
    values.samples,
    "--threads",
    String(threads),
    "--out",
    dir,
  ]);
  const m = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
  return {
    runner: `tessera ${recipe}`,
    threads,
    tokensPerSecond: m.history[0].tokensPerSecond,
    peakMiB: m.peakResidentBytes / 2 ** 20,
  };
}

async function pytorch(threads: number): Promise<Row> {
  const file = join(values.out, `${values.task}-torch-t${threads}.json`);
  await run([
    values.python,
    join(HERE, "pytorch_finetune.py"),
    "--task",
    TORCH_TASKS[values.task],
    "--epochs",
    "1",
    "--learning-rate",
    LR,
    "--batch-size",
    values.batch,
    "--max-seq-length",
    values.seq,
    "--max-train-samples",
    values.samples,
    "--threads",
    String(threads),
    "--out",
    file,
  ]);
  const m = JSON.parse(await Deno.readTextFile(file));
  return {
    runner: "PyTorch f32",
    threads,
    tokensPerSecond: m.tokens_per_second,
    peakMiB: (m.peak_rss_bytes ?? NaN) / 2 ** 20,
  };
}

if (TORCH_TASKS[values.task] === undefined) {
  console.error(
    `error: --task must be one of ${Object.keys(TORCH_TASKS).join(", ")}.`,
  );
  Deno.exit(2);
}
await Deno.mkdir(values.out, { recursive: true });
const rows: Row[] = [];
for (const threads of list(values.threads).map(Number)) {
  for (const recipe of list(values.recipes)) {
    rows.push(await tessera(recipe, threads));
  }
  if (values.python !== "") rows.push(await pytorch(threads));
}
const fp32 = new Map(
  rows.filter((r) => r.runner === "tessera fp32").map((
    r,
  ) => [r.threads, r.tokensPerSecond]),
);
console.log(
  `\n${values.task}, ${values.samples} examples, batch ${values.batch}, seq ${values.seq}, 1 epoch, ${navigator.userAgent}`,
);
console.log(
  "| runner | threads | tokens/s | × tessera fp32 | peak RSS (MiB) |",
);
console.log("|---|---:|---:|---:|---:|");
for (const r of rows) {
  const base = fp32.get(r.threads);
  console.log(
    `| ${r.runner} | ${r.threads} | ${r.tokensPerSecond.toFixed(0)} | ${
      base === undefined ? "" : (r.tokensPerSecond / base).toFixed(2)
    } | ${Number.isNaN(r.peakMiB) ? "" : r.peakMiB.toFixed(0)} |`,
  );
}
