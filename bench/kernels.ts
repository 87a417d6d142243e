/**
 * GEMM kernel benchmark: every f32-output kernel of the manifest on the BERT
 * linear-layer shapes, all three training products read through strided
 * views (Wᵀ and Xᵀ are never materialised), 1 and 2 threads, raced in the
 * same run against onnxruntime-web (WASM, 1 thread) and onnxruntime-node
 * (native, 1 thread) MatMulInteger and f32 MatMul.
 *
 * Run: `deno run -A bench/kernels.ts [--quick] [--m 128,512] [--tag NAME]`.
 * Prints one line per measurement and a progress line with ETA (stderr);
 * writes `bench/results/kernels[-NAME | -m…].json` and a Markdown summary
 * `.md` next to it. `bench/kernels/merge.ts` combines several runs.
 *
 * GOPS = 2·M·K·N / median time. Pack, 1-thread and 2-thread runs are
 * sampled round-robin so load from other processes hits them alike, and the
 * CPU other processes used meanwhile is recorded with each row. "+pack"
 * adds the generated packers' median time (both operands, including the copy
 * into WASM memory). ORT is timed per `session.run` on row-major operands of
 * the GEMM's shape, which includes its own packing.
 * @module
 */

import * as ortWeb from "onnxruntime-web";
import * as ortNode from "onnxruntime-node";
import {
  GEMM_MANIFEST,
  type GemmManifestEntry,
  type MatrixView,
  ParallelGemm,
  productOperands,
  rowMajor,
  runsOnThisEngine,
  type TrainingProduct,
} from "../src/codegen/gemm/mod.ts";
import { ForeignLoad } from "./kernels/cpu_load.ts";
import { matMulModel, type OrtMatMulKind } from "./kernels/ort_models.ts";
import { Progress } from "./kernels/progress.ts";
import { type BenchRow, markdownReport } from "./kernels/report.ts";
import { gops, sampleInterleaved } from "./kernels/timing.ts";

const quick = Deno.args.includes("--quick");
const mArg = Deno.args[Deno.args.indexOf("--m") + 1];
const M_VALUES = Deno.args.includes("--m")
  ? mArg.split(",").map(Number)
  : quick
  ? [512]
  : [128, 512, 2048];
const KN_SHAPES: [number, number][] = quick
  ? [[768, 768], [768, 3072], [3072, 768]]
  : [[768, 768], [768, 3072], [3072, 768], [256, 256], [256, 1024]];
const PRODUCTS: TrainingProduct[] = ["forward", "gradInput", "gradWeight"];

/** GEMM dimensions (rows, reduction, cols) of a product for X[M,K], W[K,N]. */
function gemmDims(
  product: TrainingProduct,
  m: number,
  k: number,
  n: number,
): [number, number, number] {
  if (product === "forward") return [m, k, n];
  if (product === "gradInput") return [m, n, k];
  return [k, m, n];
}

let seed = 1;
const rand = () =>
  (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;

function fill<T extends Int8Array | Int16Array | Float32Array>(
  data: T,
  [lo, hi]: readonly [number, number],
): T {
  const float = data instanceof Float32Array;
  for (let i = 0; i < data.length; i++) {
    data[i] = float
      ? lo + rand() * (hi - lo)
      : lo + Math.floor(rand() * (hi - lo + 1));
  }
  return data;
}

/**
 * The A and B views of `product` for a layer with row-major X[m,k], W[k,n],
 * dY[m,n] in the entry's domain (dY lies in A's range, since it is A of
 * gradInput; int16 where an s16s8 A needs it).
 */
function operands(
  entry: GemmManifestEntry,
  product: TrainingProduct,
  m: number,
  k: number,
  n: number,
): { a: MatrixView; b: MatrixView } {
  const { family } = entry.params;
  const A = family === "f32"
    ? Float32Array
    : family === "s16s8"
    ? Int16Array
    : Int8Array;
  const B = family === "f32" ? Float32Array : Int8Array;
  const dyType = product === "gradInput" ? A : B;
  const dyRange = family === "s16s8" ? entry.bRange : entry.aRange;
  return productOperands(product, {
    x: rowMajor(fill(new A(m * k), entry.aRange), m, k),
    w: rowMajor(fill(new B(k * n), entry.bRange), k, n),
    dy: rowMajor(fill(new dyType(m * n), dyRange), m, n),
  });
}

const entries = GEMM_MANIFEST.filter((e) =>
  e.params.output === "f32" && runsOnThisEngine(e.params)
);
const kernels = await Promise.all(
  entries.map((e) => ParallelGemm.create(e.params, 2)),
);
ortWeb.env.wasm.numThreads = 1;
const rows: BenchRow[] = [];
const configs = M_VALUES.flatMap((m) =>
  KN_SHAPES.flatMap(([k, n]) =>
    PRODUCTS.map((product) => ({ m, k, n, product }))
  )
);
const progress = new Progress(
  configs.reduce((s, c) => s + c.m * c.k * c.n, 0),
);

async function ourRows(
  m: number,
  k: number,
  n: number,
  product: TrainingProduct,
): Promise<BenchRow[]> {
  const gemm = gemmDims(product, m, k, n);
  const out: BenchRow[] = [];
  for (const [i, entry] of entries.entries()) {
    const pg = kernels[i];
    const { a, b } = operands(entry, product, m, k, n);
    const plan = pg.plan(...gemm);
    const load = new ForeignLoad();
    const [packMs, ms1, ms2] = await sampleInterleaved([
      () => {
        pg.kernel.packA(plan, a);
        pg.kernel.packB(plan, b);
      },
      () => pg.kernel.compute(plan, 2 ** -14),
      () => pg.compute(plan, 2 ** -14),
    ]);
    out.push({
      m,
      k,
      n,
      product,
      gemm,
      engine: pg.kernel.module.name,
      gops1: gops(...gemm, ms1.median),
      gops2: gops(...gemm, ms2.median),
      e2e1: gops(...gemm, ms1.median + packMs.median),
      ms1,
      ms2,
      packMs,
      foreignCores: load.cores(),
    });
  }
  return out;
}

async function ortRows(
  m: number,
  k: number,
  n: number,
  product: TrainingProduct,
): Promise<BenchRow[]> {
  const gemm = gemmDims(product, m, k, n);
  const [gm, gk, gn] = gemm;
  const out: BenchRow[] = [];
  for (const kind of ["MatMulInteger", "MatMul"] as OrtMatMulKind[]) {
    const float = kind === "MatMul";
    const make = (len: number) =>
      float
        ? fill(new Float32Array(len), [-1, 1])
        : fill(new Int8Array(len), [-127, 127]);
    const aData = make(gm * gk), bData = make(gk * gn);
    for (const [name, ort] of [["ort-web", ortWeb], ["ort-node", ortNode]]) {
      const api = ort as typeof ortWeb;
      const session = await api.InferenceSession.create(
        matMulModel(kind, gm, gk, gn),
        { intraOpNumThreads: 1, interOpNumThreads: 1 },
      );
      const type = float ? "float32" : "int8";
      const feeds = {
        A: new api.Tensor(type, aData, [gm, gk]),
        B: new api.Tensor(type, bData, [gk, gn]),
      };
      const load = new ForeignLoad();
      const [ms] = await sampleInterleaved([() => session.run(feeds)], {
        minRounds: 3,
        maxRounds: 5,
        budgetMs: 1000,
      });
      await session.release();
      out.push({
        m,
        k,
        n,
        product,
        gemm,
        engine: `${name} ${kind}`,
        gops1: gops(gm, gk, gn, ms.median),
        ms1: ms,
        foreignCores: load.cores(),
      });
    }
  }
  return out;
}

const cell = (x: number | undefined, width: number) =>
  (x === undefined ? "" : x.toFixed(1)).padStart(width);

console.log(
  "Columns: GOPS 1 thread, 2 threads, 1 thread incl. packing, packing ms, others' CPU (cores).",
);
try {
  for (const { m, k, n, product } of configs) {
    const measured = [
      ...await ourRows(m, k, n, product),
      ...await ortRows(m, k, n, product),
    ];
    rows.push(...measured);
    for (const r of measured) {
      console.log(
        [
          `M=${m} K=${k} N=${n}`.padEnd(22),
          product.padEnd(10),
          r.engine.padEnd(30),
          cell(r.gops1, 7),
          cell(r.gops2, 7),
          cell(r.e2e1, 7),
          (r.packMs?.median.toFixed(2) ?? "").padStart(7),
          (r.foreignCores?.toFixed(2) ?? "").padStart(5),
        ].join(" "),
      );
    }
    progress.step(m * k * n, `M=${m} K=${k} N=${n} ${product}`);
  }
} finally {
  for (const pg of kernels) pg.close();
}

const tag = Deno.args.includes("--tag")
  ? Deno.args[Deno.args.indexOf("--tag") + 1]
  : undefined;
const suffix = tag
  ? `-${tag}`
  : Deno.args.includes("--m")
  ? `-m${M_VALUES.join("_")}`
  : "";
const dir = new URL("./results/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
const json = new URL(`kernels${suffix}.json`, dir);
const md = new URL(`kernels${suffix}.md`, dir);
await Deno.writeTextFile(
  json,
  JSON.stringify(
    { date: new Date().toISOString(), args: Deno.args, rows },
    null,
    1,
  ),
);
await Deno.writeTextFile(md, markdownReport(rows) + "\n");
console.log(`\nWrote ${json.pathname} and ${md.pathname}`);
