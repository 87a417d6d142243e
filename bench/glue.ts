/**
 * The experiment driver of the paper's comparison: fine-tunes every
 * (task, recipe, seed) with `deno task finetune`, one process per run so a
 * run's peak memory is its own, into `<out>/<task>-<recipe>-s<seed>/`, then
 * writes the Table 1 layout and a table of every run (`bench/glue_table.ts`)
 * to `<out>/table.md` and, with `--results FILE`, between the
 * `<!-- glue-table -->` markers there.
 *
 * A finished run (its metrics.json holds every epoch) is skipped and an
 * interrupted one resumes from its checkpoint, so the driver can be stopped
 * and started again. Options after `--` go to every run unchanged.
 *
 * Usage: `deno run -A bench/glue.ts [--tasks rte,mrpc] [--recipes fp32,int8]
 * [--seeds 1,2,3] [--epochs 3] [--lr 2e-5] [--batch 32] [--seq 128]
 * [--max-train-samples 8000] [--out runs/glue] [--results docs/RESULTS.md]
 * [--dry-run] [-- --dropout 0 …]`
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { glueTable, type RunMetrics, runsTable } from "./glue_table.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    tasks: { type: "string", default: "stsb,sst2,rte,mrpc,cola" },
    recipes: { type: "string", default: "fp32,fp16,int8,int8-a1,int8-a2" },
    seeds: { type: "string", default: "1,2,3" },
    epochs: { type: "string", default: "3" },
    lr: { type: "string", default: "2e-5" },
    batch: { type: "string", default: "32" },
    seq: { type: "string", default: "128" },
    "max-train-samples": { type: "string" },
    out: { type: "string", default: "runs/glue" },
    results: { type: "string" },
    "dry-run": { type: "boolean", default: false },
  },
});

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const CLI = new URL("../src/cli/finetune.ts", import.meta.url).pathname;
const MARK_START = "<!-- glue-table:start -->";
const MARK_END = "<!-- glue-table:end -->";

function readMetrics(dir: string): RunMetrics | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(join(dir, "metrics.json")));
  } catch {
    return undefined;
  }
}

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

const epochs = Number(values.epochs);
const plan = list(values.tasks).flatMap((task) =>
  list(values.recipes).flatMap((recipe) =>
    list(values.seeds).map((seed) => ({ task, recipe, seed }))
  )
);
const runs: RunMetrics[] = [];
for (const [i, { task, recipe, seed }] of plan.entries()) {
  const dir = join(values.out, `${task}-${recipe}-s${seed}`);
  const done = readMetrics(dir);
  if (done !== undefined && done.history.length === epochs) {
    runs.push(done);
    continue;
  }
  const args = [
    "run",
    "-A",
    CLI,
    "--task",
    task,
    "--precision",
    recipe,
    "--seed",
    seed,
    "--epochs",
    values.epochs,
    "--lr",
    values.lr,
    "--batch",
    values.batch,
    "--seq",
    values.seq,
    "--out",
    dir,
    ...(values["max-train-samples"] === undefined
      ? []
      : ["--max-train-samples", values["max-train-samples"]]),
    ...(exists(join(dir, "checkpoint.bin")) ? ["--resume"] : []),
    ...positionals,
  ];
  console.error(`[${i + 1}/${plan.length}] deno ${args.join(" ")}`);
  if (values["dry-run"]) continue;
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.error(`run ${dir} failed (exit ${code}); going on with the rest`);
    continue;
  }
  const metrics = readMetrics(dir);
  if (metrics !== undefined) runs.push(metrics);
}
if (runs.length > 0) {
  const table = `${glueTable(runs)}\nEvery run (last epoch):\n\n${
    runsTable(runs)
  }`;
  await Deno.mkdir(values.out, { recursive: true });
  await Deno.writeTextFile(join(values.out, "table.md"), table);
  console.log(table);
  if (values.results !== undefined) {
    const text = await Deno.readTextFile(values.results);
    const start = text.indexOf(MARK_START);
    const end = text.indexOf(MARK_END);
    if (start < 0 || end < start) {
      console.error(
        `${values.results} has no ${MARK_START} … ${MARK_END} section; table left in ${values.out}/table.md only.`,
      );
    } else {
      await Deno.writeTextFile(
        values.results,
        `${text.slice(0, start + MARK_START.length)}\n${table}${
          text.slice(end)
        }`,
      );
    }
  }
}
