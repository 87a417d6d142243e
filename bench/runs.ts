/**
 * What the fine-tuning drivers (`bench/glue.ts`, `bench/squad.ts`) share:
 * one `deno task finetune` process per run, so a run's peak memory is its
 * own, in a directory of its own; a finished run (its metrics.json reaches
 * the last epoch) is skipped and an interrupted one resumes from its
 * checkpoint, so a driver can be stopped and started again; and the tables
 * go to `<out>/table.md` and between a pair of markers in a results file.
 *
 * @module
 */

import { join } from "node:path";

/** What a driver needs of every run's `metrics.json`. */
export interface RunRecord {
  readonly history: readonly { readonly epoch: number }[];
}

/** One planned run: its directory and its `finetune` options but `--out`. */
export interface PlannedRun {
  readonly dir: string;
  readonly args: readonly string[];
}

const CLI = new URL("../src/cli/finetune.ts", import.meta.url).pathname;

/** The parsed `<dir>/metrics.json`, or undefined when there is none yet. */
export function readMetrics<M>(dir: string): M | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(join(dir, "metrics.json")));
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs every planned run not finished yet (each to `epochs` epochs), one at
 * a time, resuming those with a checkpoint; a failed run is reported and
 * the rest go on. With `dryRun` the commands are only printed. Returns the
 * metrics of every finished run, in plan order.
 */
export async function runPlan<M extends RunRecord>(
  plan: readonly PlannedRun[],
  epochs: number,
  dryRun: boolean,
): Promise<M[]> {
  const runs: M[] = [];
  for (const [i, { dir, args }] of plan.entries()) {
    const done = readMetrics<M>(dir);
    if (done !== undefined && done.history.at(-1)?.epoch === epochs) {
      runs.push(done);
      continue;
    }
    const command = [
      "run",
      "-A",
      CLI,
      ...args,
      "--out",
      dir,
      ...(exists(join(dir, "checkpoint.bin")) ? ["--resume"] : []),
    ];
    console.error(`[${i + 1}/${plan.length}] deno ${command.join(" ")}`);
    if (dryRun) continue;
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: command,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      console.error(`run ${dir} failed (exit ${code}); going on with the rest`);
      continue;
    }
    const metrics = readMetrics<M>(dir);
    if (metrics !== undefined) runs.push(metrics);
  }
  return runs;
}

/**
 * Writes `table` to `<out>/table.md` and stdout and, given `results`,
 * between its `<!-- NAME:start -->` and `<!-- NAME:end -->` markers (a file
 * without them is left alone, with a message).
 */
export async function publishTable(
  table: string,
  out: string,
  name: string,
  results?: string,
): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeTextFile(join(out, "table.md"), table);
  console.log(table);
  if (results === undefined) return;
  const startMark = `<!-- ${name}:start -->`;
  const endMark = `<!-- ${name}:end -->`;
  const text = await Deno.readTextFile(results);
  const start = text.indexOf(startMark);
  const end = text.indexOf(endMark);
  if (start < 0 || end < start) {
    console.error(
      `${results} has no ${startMark} … ${endMark} section; table left in ${out}/table.md only.`,
    );
    return;
  }
  await Deno.writeTextFile(
    results,
    `${text.slice(0, start + startMark.length)}\n${table}${text.slice(end)}`,
  );
}

/** The comma-separated items of a list option, trimmed, empty ones dropped. */
export function list(text: string): string[] {
  return text.split(",").map((x) => x.trim()).filter(Boolean);
}
