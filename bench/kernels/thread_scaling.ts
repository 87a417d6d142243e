/**
 * Two-thread scaling against background load: repeatedly times one GEMM on
 * 1 and then 2 threads in windows of ~0.25 s, records the CPU other
 * processes used in each window, and reports the 2T ÷ 1T speedup per load
 * bucket. On a 2-core box this separates what the kernel does (speedup with
 * the machine to itself) from what a neighbour's process costs.
 *
 * Run: `deno run -A bench/kernels/thread_scaling.ts [seconds]` (default 60).
 * @module
 */

import {
  GEMM_MANIFEST,
  ParallelGemm,
  rowMajor,
  runsOnThisEngine,
} from "../../src/codegen/gemm/mod.ts";
import { ForeignLoad } from "./cpu_load.ts";
import { summarise } from "./timing.ts";

const seconds = Number(Deno.args[0] ?? 60);
const [m, k, n] = [512, 768, 768];
const wanted = ["relaxed", "relaxed7", "madd"];
const entries = GEMM_MANIFEST.filter((e) =>
  e.params.output === "f32" && e.params.mr !== 4 &&
  wanted.includes(e.params.variant) &&
  runsOnThisEngine(e.params)
);
const BUCKETS = [0.2, 0.6, 1.0, Infinity];
const label = (i: number) =>
  i === 0
    ? `< ${BUCKETS[0]}`
    : BUCKETS[i] === Infinity
    ? `≥ ${BUCKETS[i - 1]}`
    : `${BUCKETS[i - 1]}–${BUCKETS[i]}`;

console.log(
  `GEMM ${m}×${k}×${n}, ${seconds} s per kernel; speedup = median 1T ÷ median 2T per 0.25 s window.`,
);
console.log(
  "kernel                           others' CPU (cores)   windows   speedup median (min–max)",
);
for (const entry of entries) {
  using pg = await ParallelGemm.create(entry.params, 2);
  const data = (len: number) =>
    entry.params.family === "f32"
      ? Float32Array.from({ length: len }, (_, i) => (i % 7) / 7)
      : Int8Array.from({ length: len }, (_, i) => (i % 101) - 50);
  const plan = pg.plan(m, k, n);
  pg.kernel.packA(plan, rowMajor(data(m * k), m, k));
  pg.kernel.packB(plan, rowMajor(data(k * n), k, n));
  for (let i = 0; i < 5; i++) pg.compute(plan);
  const speedups: number[][] = BUCKETS.map(() => []);
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const load = new ForeignLoad();
    const one: number[] = [], two: number[] = [];
    const windowEnd = performance.now() + 250;
    while (performance.now() < windowEnd) {
      let t = performance.now();
      pg.kernel.compute(plan);
      one.push(performance.now() - t);
      t = performance.now();
      pg.compute(plan);
      two.push(performance.now() - t);
    }
    const cores = load.cores() ?? 0;
    const bucket = BUCKETS.findIndex((b) => cores < b);
    speedups[bucket].push(summarise(one).median / summarise(two).median);
  }
  speedups.forEach((xs, i) => {
    if (xs.length === 0) return;
    const s = summarise(xs);
    console.log(
      `${pg.kernel.module.name.padEnd(32)} ${label(i).padEnd(21)} ${
        String(xs.length).padStart(7)
      }   ${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`,
    );
  });
}
