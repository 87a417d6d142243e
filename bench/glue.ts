/**
 * The experiment driver of the paper's comparison: fine-tunes every
 * (task, recipe, seed) with `deno task finetune`, one process per run so a
 * run's peak memory is its own, into `<out>/<task>-<recipe>-s<seed>/`, then
 * writes the Table 1 layout and a table of every run (`bench/glue_table.ts`)
 * to `<out>/table.md` and, with `--results FILE`, between the
 * `<!-- glue-table -->` markers there.
 *
 * A finished run (its metrics.json reaches the last epoch) is skipped and an
 * interrupted one resumes from its checkpoint, so the driver can be stopped
 * and started again (`runs.ts`). Options after `--` go to every run
 * unchanged.
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
import { list, publishTable, runPlan, type RunRecord } from "./runs.ts";

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

const plan = list(values.tasks).flatMap((task) =>
  list(values.recipes).flatMap((recipe) =>
    list(values.seeds).map((seed) => ({
      dir: join(values.out, `${task}-${recipe}-s${seed}`),
      args: [
        ...["--task", task, "--precision", recipe, "--seed", seed],
        ...["--epochs", values.epochs, "--lr", values.lr],
        ...["--batch", values.batch, "--seq", values.seq],
        ...(values["max-train-samples"] === undefined
          ? []
          : ["--max-train-samples", values["max-train-samples"]]),
        ...positionals,
      ],
    }))
  )
);
const runs = await runPlan<RunMetrics & RunRecord>(
  plan,
  Number(values.epochs),
  values["dry-run"],
);
if (runs.length > 0) {
  await publishTable(
    `${glueTable(runs)}\nEvery run (last epoch):\n\n${runsTable(runs)}`,
    values.out,
    "glue-table",
    values.results,
  );
}
