/**
 * The fine stage of token-wise clipping (src/ptq/lsq_graph.ts,
 * src/ptq/lsq_train.ts, `calibrate --lsq`) on bert-tiny-random with a few
 * real SST-2 sentences.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { feedsFor } from "../../src/analysis/model_feeds.ts";
import { UsageError } from "../../src/cli/args.ts";
import { calibrateCommand } from "../../src/cli/calibrate.ts";
import { compileCommand } from "../../src/cli/compile.ts";
import { execute } from "../../src/executor/execute.ts";
import { withParts } from "../../src/ir/graph.ts";
import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import {
  calibrate,
  collectStats,
  engineRunner,
  outputError,
} from "../../src/ptq/calibrate.ts";
import { fakeQuantise } from "../../src/ptq/fake_quant.ts";
import { lossFeeds, lsqForward } from "../../src/ptq/lsq_graph.ts";
import { fineStage } from "../../src/ptq/lsq_train.ts";
import { PARAMS_FILE, parsePrecision } from "../../src/ptq/params.ts";
import { inferArgs, tinySetup as tinyBert } from "./_bert_tiny.ts";

const MODEL = "../shared/models/bert-tiny-random/model.onnx";

/**
 * bert-tiny, 16 SST-2 train sentences (seed 1) in two batches, and its
 * compiler, which also outputs the last LayerNorm (the encoder's hidden
 * state): 16 logits alone make an MSE that rounding noise dominates.
 */
async function tinySetup() {
  const { batches, compile: forward } = await tinyBert(16);
  const compile = (batch: number, seq: number) => {
    const g = forward(batch, seq);
    const hidden = g.nodes.filter((n) => n.op === "LayerNorm").at(-1)!;
    return withParts(g, { outputs: [...g.outputs, hidden.outputs[0]] });
  };
  return { batches, compile };
}

Deno.test("LSQ program: its first loss is the coarse stage's MSE of the batch", async () => {
  const { batches, compile } = await tinySetup();
  const precision = parsePrecision("w6a6");
  const coarse = await calibrate(compile, batches, precision, "minmax");
  const stats = await collectStats(compile, batches);
  const sites = new Map(coarse.sites.map((s) => [s.value, s]));
  for (const [i, batch] of batches.entries()) {
    const graph = compile(batch.batchSize, batch.seqLength);
    const chain = fakeQuantise(graph, { weightBits: 6, sites });
    const e = outputError(
      batch,
      stats.reference[i],
      execute(chain, feedsFor(chain, batch)),
    );
    const lsq = lsqForward(graph, precision, coarse.sites);
    assert.equal(
      lsq.graph.nodes.filter((n) => n.op === "LsqFakeQuant").length,
      10,
    );
    const loss = execute(
      lsq.graph,
      new Map([
        ...feedsFor(graph, batch),
        ...lossFeeds(batch, stats.reference[i], lsq.outputs),
      ]),
    ).get("loss")!.data[0];
    const mse = e.sum / e.count;
    assert.ok(Math.abs(loss - mse) <= 1e-5 * mse, `${loss} vs ${mse}`);
  }
});

Deno.test("LSQ fine stage (lr 1e-3) lowers the calibration MSE and is bit-identical per seed", async () => {
  const { batches, compile } = await tinySetup();
  const run = engineRunner();
  const coarse = await calibrate(
    compile,
    batches,
    parsePrecision("w6a6"),
    "minmax",
    {},
    undefined,
    run,
  );
  const options = { epochs: 3, lr: 1e-3, seed: 1 };
  const steps: number[] = [];
  const fine = await fineStage(
    compile,
    batches,
    coarse,
    options,
    run,
    (s) => steps.push(s.done),
  );
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  assert.equal(fine.method, "minmax+lsq");
  assert.equal(fine.lsq!.mseBefore, coarse.mse);
  assert.ok(fine.mse < coarse.mse, `${fine.mse} < ${coarse.mse}`);
  const changed = fine.sites.filter((s, i) =>
    s.scale !== coarse.sites[i].scale
  );
  assert.equal(changed.length, coarse.sites.length, "every scale learned");
  const again = await fineStage(compile, batches, coarse, options, run);
  assert.deepEqual(again, fine);
  const otherSeed = await fineStage(compile, batches, coarse, {
    ...options,
    seed: 2,
  }, run);
  assert.notDeepEqual(otherSeed.lsq!.losses, fine.lsq!.losses);
});

Deno.test("calibrate --lsq: refuses bad options, writes and compiles the learned steps", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cal = join(dir, "cal");
    const common = [
      "--model",
      MODEL,
      "--task",
      "sst2",
      "--out",
      cal,
      "--samples",
      "8",
      "--max-seq-length",
      "16",
    ];
    const tc = [...common, "--method", "token-clipping", "--lsq"];
    const refused: [string[], RegExp][] = [
      [[...tc, "--lsq-lr", "0"], /--lsq-lr' must be a finite number > 0/],
      [[...tc, "--lsq-lr", "-1e-5"], /--lsq-lr' must be a finite number > 0/],
      [[...tc, "--lsq-lr", "Infinity"], /must be a finite number > 0/],
      [[...tc, "--lsq-lr", "fast"], /got 'fast'/],
      [[...tc, "--lsq-epochs", "0"], /--lsq-epochs' must be a positive/],
      [
        [...common, "--lsq-epochs", "2"],
        /--lsq-epochs only applies with --lsq/,
      ],
      [[...common, "--lsq"], /add --method token-clipping/],
    ];
    for (const [argv, message] of refused) {
      await assert.rejects(
        () => calibrateCommand(argv),
        (e: Error) => e instanceof UsageError && message.test(e.message),
        argv.join(" "),
      );
    }
    assert.equal(
      await calibrateCommand([
        ...tc,
        "--engine",
        "--lsq-epochs",
        "1",
        "--lsq-lr",
        "1e-4",
      ]),
      0,
    );
    const params = JSON.parse(await Deno.readTextFile(join(cal, PARAMS_FILE)));
    assert.equal(params.method, "token-clipping+lsq");
    assert.equal(params.lsq.epochs, 1);
    assert.equal(params.lsq.lr, 1e-4);
    assert.equal(params.lsq.steps, 1);
    assert.equal(typeof params.lsq.mseBefore, "number");
    assert.ok(params.alpha > 0 && params.alpha <= 1);
    const dump = join(dir, "ir");
    assert.equal(
      await compileCommand(inferArgs(MODEL, cal, dump)),
      0,
    );
    const last = [...Deno.readDirSync(dump)].map((e) => e.name).sort().at(-1)!;
    const text = await Deno.readTextFile(join(dump, last));
    assert.match(text, /ptq_method="token-clipping\+lsq"/);
    // A real-valued zero point reads back from the text form.
    assert.equal(printGraph(parseGraph(text)), text);
    const site = params.sites[0];
    assert.ok(!Number.isInteger(site.zeroPoint), "a learned, real offset");
    assert.ok(
      text.includes(`ptq_zero_point=${site.zeroPoint}`),
      `the dump shows z = ${site.zeroPoint}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
