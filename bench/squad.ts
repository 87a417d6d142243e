/**
 * The experiment driver of the paper's SQuAD v1.1 comparison (its Table 2):
 * fine-tunes every (recipe, seed) with `deno task finetune --task squad`,
 * one process per run, into `<out>/<recipe>-s<seed>/`, then writes the
 * Table 2 layout and a table of every run (`bench/squad_table.ts`) to
 * `<out>/table.md` and, with `--results FILE`, between the
 * `<!-- squad-table -->` markers there.
 *
 * A finished run (its metrics.json reaches the last epoch) is skipped and an
 * interrupted one resumes from its checkpoint, so the driver can be stopped
 * and started again (`runs.ts`). Options after `--` go to every run
 * unchanged.
 *
 * Usage: `deno run -A bench/squad.ts [--recipes fp32,int8] [--seeds 1,2,3]
 * [--epochs 1] [--lr 1e-4] [--batch 16] [--seq 256] [--doc-stride 128]
 * [--max-train-samples 1024] [--max-eval-samples N] [--model FILE]
 * [--data FILE] [--out runs/squad] [--results docs/RESULTS.md] [--dry-run]
 * [-- --warmup-ratio 0.1 …]`
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { list, publishTable, runPlan, type RunRecord } from "./runs.ts";
import {
  type SquadRunMetrics,
  squadRunsTable,
  squadTable,
} from "./squad_table.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    recipes: { type: "string", default: "fp32,fp16,int8,int8-a1,int8-a2" },
    seeds: { type: "string", default: "1,2,3" },
    epochs: { type: "string", default: "1" },
    lr: { type: "string", default: "1e-4" },
    batch: { type: "string", default: "16" },
    seq: { type: "string", default: "256" },
    "doc-stride": { type: "string", default: "128" },
    "max-train-samples": { type: "string", default: "1024" },
    "max-eval-samples": { type: "string" },
    model: {
      type: "string",
      default: "../shared/models/tessera-bert-mini/encoder.onnx",
    },
    data: {
      type: "string",
      default: "../shared/data/squad-v1.1/dev-v1.1.json",
    },
    out: { type: "string", default: "runs/squad" },
    results: { type: "string" },
    "dry-run": { type: "boolean", default: false },
  },
});

const plan = list(values.recipes).flatMap((recipe) =>
  list(values.seeds).map((seed) => ({
    dir: join(values.out, `${recipe}-s${seed}`),
    args: [
      ...["--task", "squad", "--model", values.model, "--data", values.data],
      ...["--precision", recipe, "--seed", seed],
      ...["--epochs", values.epochs, "--lr", values.lr],
      ...["--batch", values.batch, "--seq", values.seq],
      ...["--doc-stride", values["doc-stride"]],
      ...["--max-train-samples", values["max-train-samples"]],
      ...(values["max-eval-samples"] === undefined
        ? []
        : ["--max-eval-samples", values["max-eval-samples"]]),
      ...positionals,
    ],
  }))
);
const runs = await runPlan<SquadRunMetrics & RunRecord>(
  plan,
  Number(values.epochs),
  values["dry-run"],
);
if (runs.length > 0) {
  await publishTable(
    `${squadTable(runs)}\nEvery run (last epoch):\n\n${squadRunsTable(runs)}`,
    values.out,
    "squad-table",
    values.results,
  );
}
