/**
 * Turns benchmark rows into the Markdown summary pasted into
 * docs/RESULTS.md: one line per (M, K×N, product) with the best portable
 * exact int8 (dot16, relaxed), relaxed8 (exact where the engine's relaxed dot
 * is unsigned × signed), relaxed7 and f32 kernels (1 and 2 threads, with packing) next to ONNX
 * Runtime, then a per-target tally. "others' CPU" is the load while the
 * int8 row was sampled, the context for its ×2T.
 * @module
 */

import type { Sample } from "./timing.ts";

/** One measured engine on one product. */
export interface BenchRow {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly product: string;
  /** GEMM dimensions (rows, reduction, cols). */
  readonly gemm: readonly [number, number, number];
  readonly engine: string;
  /** 1-thread GOPS (median time). */
  readonly gops1: number;
  /** 2-thread GOPS (median time); ours only. */
  readonly gops2?: number;
  /** 1-thread GOPS with both operands packed by the generated packers. */
  readonly e2e1?: number;
  /** Timings in ms. */
  readonly ms1?: Sample;
  readonly ms2?: Sample;
  readonly packMs?: Sample;
  /** Cores' worth of CPU other processes used meanwhile. */
  readonly foreignCores?: number;
}

const f1 = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(1));

/** The best row among `rows` whose engine matches `pattern`, by 1-thread GOPS. */
function best(rows: BenchRow[], pattern: RegExp): BenchRow | undefined {
  return rows.filter((r) => pattern.test(r.engine))
    .sort((a, b) => b.gops1 - a.gops1)[0];
}

const EXACT_INT8 = /^gemm_s8s8_.*_(dot16|relaxed)$/;
const RELAXED7 = /^gemm_s8s8_.*_relaxed7$/;
const RELAXED8 = /^gemm_s8s8_.*_relaxed8$/;
const F32 = /^gemm_f32_.*_madd$/;

/** Renders the summary table and target tally. */
export function markdownReport(rows: readonly BenchRow[]): string {
  const groups = new Map<string, BenchRow[]>();
  for (const r of rows) {
    const key = `${r.m}|${r.k}×${r.n}|${r.product}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out = [
    "| M | K×N | product | GEMM m×k×n | exact int8 1T | 2T | ×2T | +pack | relaxed8 1T | relaxed7 1T | f32 1T | f32 2T | ort-web i8 | ort-web f32 | ort-node i8 | ort-node f32 | others' CPU |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [key, g] of groups) {
    const [m, kn, product] = key.split("|");
    const int8 = best(g, EXACT_INT8), f = best(g, F32);
    const r7 = best(g, RELAXED7), r8 = best(g, RELAXED8);
    const ort = (name: string) => g.find((r) => r.engine === name)?.gops1;
    // The load while the int8 row was sampled: it explains that row's ×2T.
    const load = int8?.foreignCores;
    out.push(
      `| ${m} | ${kn} | ${product} | ${g[0].gemm.join("×")} | ${
        f1(int8?.gops1)
      } | ${f1(int8?.gops2)} | ${
        int8?.gops2 ? (int8.gops2 / int8.gops1).toFixed(2) : "–"
      } | ${f1(int8?.e2e1)} | ${f1(r8?.gops1)} | ${f1(r7?.gops1)} | ${
        f1(f?.gops1)
      } | ${f1(f?.gops2)} | ${f1(ort("ort-web MatMulInteger"))} | ${
        f1(ort("ort-web MatMul"))
      } | ${f1(ort("ort-node MatMulInteger"))} | ${
        f1(ort("ort-node MatMul"))
      } | ${load?.toFixed(2) ?? "–"} |`,
    );
  }
  return [out.join("\n"), "", tally(rows)].join("\n");
}

function tally(rows: readonly BenchRow[]): string {
  const at512 = rows.filter((r) => r.m === 512);
  const lines: string[] = [];
  const spread = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `min ${f1(s[0])}, median ${f1(s[s.length >> 1])}, max ${
      f1(s[s.length - 1])
    }`;
  };
  const line = (label: string, pattern: RegExp, target: number) => {
    const groups = new Map<string, number>();
    for (const r of at512.filter((r) => pattern.test(r.engine))) {
      const key = `${r.k}|${r.n}|${r.product}`;
      groups.set(key, Math.max(groups.get(key) ?? 0, r.gops1));
    }
    const v = [...groups.values()];
    if (v.length === 0) return;
    lines.push(
      `- ${label} at M=512, best kernel per product: ${
        v.filter((x) => x >= target).length
      }/${v.length} ≥ ${target} GOPS (${spread(v)}).`,
    );
  };
  line("Exact int8 (dot16/relaxed) 1 thread", EXACT_INT8, 80);
  line("relaxed8 1 thread", RELAXED8, 105);
  line("relaxed7 1 thread", RELAXED7, 105);
  line("f32 madd 1 thread", F32, 42);
  const ratios = rows.filter((r) => r.gops2 !== undefined && r.m >= 512)
    .map((r) => ({ x: r.gops2! / r.gops1, load: r.foreignCores ?? 0 }));
  if (ratios.length > 0) {
    const quiet = ratios.filter((r) => r.load < 0.2);
    lines.push(
      `- 2 threads ÷ 1 thread, all our kernels at M ≥ 512: ${
        ratios.filter((r) => r.x >= 1.8).length
      }/${ratios.length} ≥ 1.8× (${spread(ratios.map((r) => r.x))}); ` +
        `while other processes used < 0.2 cores: ${
          quiet.filter((r) => r.x >= 1.8).length
        }/${quiet.length} ≥ 1.8×${
          quiet.length ? ` (${spread(quiet.map((r) => r.x))})` : ""
        }.`,
    );
  }
  return lines.join("\n");
}
