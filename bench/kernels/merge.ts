/**
 * Combines several `bench/kernels.ts` runs into one Markdown summary: every
 * number is the median over the runs of that run's median, so one run spoiled
 * by a neighbour's process does not decide a cell; the spread across runs is
 * printed after the table.
 *
 * Run: `deno run -A bench/kernels/merge.ts run1.json run2.json run3.json`.
 * @module
 */

import { type BenchRow, markdownReport } from "./report.ts";

const runs: BenchRow[][] = Deno.args.map((path) =>
  JSON.parse(Deno.readTextFileSync(path)).rows
);
if (runs.length === 0) {
  throw new Error("Pass the JSON files of one or more benchmark runs.");
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[s.length >> 1]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const key = (r: BenchRow) => `${r.m}|${r.k}|${r.n}|${r.product}|${r.engine}`;
const byKey = new Map<string, BenchRow[]>();
for (const run of runs) {
  for (const r of run) byKey.set(key(r), [...(byKey.get(key(r)) ?? []), r]);
}

const merged: BenchRow[] = [...byKey.values()].map((rs) => {
  const pick = (f: (r: BenchRow) => number | undefined) => {
    const xs = rs.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  return {
    ...rs[0],
    gops1: pick((r) => r.gops1)!,
    gops2: pick((r) => r.gops2),
    e2e1: pick((r) => r.e2e1),
    foreignCores: pick((r) => r.foreignCores),
  };
});

const spread = (engine: RegExp, f: (r: BenchRow) => number | undefined) => {
  const ratios: number[] = [];
  for (const rs of byKey.values()) {
    if (!engine.test(rs[0].engine) || rs.length < 2) continue;
    const xs = rs.map(f).filter((x): x is number => x !== undefined);
    if (xs.length >= 2) ratios.push(Math.max(...xs) / Math.min(...xs));
  }
  ratios.sort((a, b) => a - b);
  return `median ${ratios[ratios.length >> 1]?.toFixed(2)}, max ${
    ratios[ratios.length - 1]?.toFixed(2)
  }`;
};

console.log(markdownReport(merged));
console.log(
  `- Across the ${runs.length} runs, max ÷ min of each cell: our 1-thread GOPS ${
    spread(/^gemm_/, (r) => r.gops1)
  }; our 2-thread GOPS ${spread(/^gemm_/, (r) => r.gops2)}; ORT ${
    spread(/^ort-/, (r) => r.gops1)
  }.`,
);
