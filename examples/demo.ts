/**
 * `deno task demo`: the whole product on a fresh machine with nothing but
 * the repository. It builds a small BERT-shaped ONNX model in process,
 * compiles it (IR summary), fine-tunes it on the tiny sentiment set in
 * `examples/data/tiny-sentiment`, and prints the loss curve and the metric.
 * `--model X.onnx --data DIR --task NAME` does the same on real files (an
 * encoder such as ../shared/models/tessera-bert-mini/encoder.onnx).
 *
 * @module
 */

import { join } from "node:path";
import { loadTokenizer } from "../runtime/data/read_file.ts";
import {
  formatOptions,
  numberOption,
  type OptionSpec,
  parseCommand,
} from "../src/cli/args.ts";
import { runMain } from "../src/cli/main.ts";
import { readSplit, taskFiles } from "../src/cli/task_options.ts";
import { Progress } from "../src/cli/progress.ts";
import { compileForSummary, summarize } from "../src/cli/summary.ts";
import { exportOnnx } from "../src/export/onnx_export.ts";
import { fineTune } from "../src/finetune/fine_tune.ts";
import { importOnnx, importOnnxFile } from "../src/frontend/import_model.ts";
import { buildBertGraph } from "../src/models/bert_builder.ts";
import { lineChart } from "../src/report/svg_chart.ts";

const TINY_DATA = new URL("./data/tiny-sentiment/", import.meta.url).pathname;

const OPTIONS: Record<string, OptionSpec> = {
  model: {
    kind: "string",
    value: "FILE",
    help:
      "an ONNX encoder to fine-tune (default: build a small BERT in process)",
  },
  data: {
    kind: "string",
    value: "DIR",
    help: `task folder with train.tsv and dev.tsv (default ${TINY_DATA})`,
  },
  task: {
    kind: "string",
    value: "NAME",
    help: "GLUE task whose layout the data has (default sst2)",
  },
  vocab: {
    kind: "string",
    value: "FILE",
    help: "vocab.txt (default: beside the model, or the tiny set's)",
  },
  epochs: { kind: "int", value: "N", help: "epochs (default 5)" },
  batch: { kind: "int", value: "N", help: "batch size (default 16)" },
  seq: { kind: "int", value: "N", help: "sequence length (default 16)" },
  lr: { kind: "string", value: "X", help: "peak learning rate (default 1e-3)" },
  seed: { kind: "int", value: "N", help: "seed (default 1)" },
  out: {
    kind: "string",
    value: "DIR",
    help: "where the model, loss curve and metrics go (default build/demo)",
  },
  help: { kind: "flag", help: "show this help" },
};

const USAGE = `Usage: deno task demo [options]

Builds a small BERT-shaped ONNX model, compiles it, fine-tunes it on a tiny
sentiment set shipped with tessera and prints the loss curve and accuracy.

Options:
${formatOptions(OPTIONS)}`;

/** The tiny model the demo builds: BERT's shape at toy size. */
const TINY_CONFIG = {
  vocab_size: 44,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 32,
  type_vocab_size: 2,
};

/** A one-line loss curve for the terminal. */
function sparkline(values: readonly number[], width = 60): string {
  const bars = "▁▂▃▄▅▆▇█";
  const step = Math.max(1, Math.ceil(values.length / width));
  const means: number[] = [];
  for (let i = 0; i < values.length; i += step) {
    const chunk = values.slice(i, i + step);
    means.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
  }
  const lo = Math.min(...means);
  const hi = Math.max(...means);
  return means.map((v) => bars[Math.round((v - lo) / (hi - lo || 1) * 7)]).join(
    "",
  );
}

async function demo(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, OPTIONS, USAGE);
  if (args === undefined) return 0;
  const { options } = args;
  const out = (options.get("out") as string | undefined) ?? "build/demo";
  const modelPath = options.get("model") as string | undefined;
  const files = taskFiles(args, {
    task: "sst2",
    data: TINY_DATA,
    ...(modelPath === undefined ? { vocab: join(TINY_DATA, "vocab.txt") } : {}),
  });
  const lr = numberOption(args, "lr", 1e-3, (x) => x > 0, "a number > 0");
  await Deno.mkdir(out, { recursive: true });

  let imported;
  let opset;
  if (modelPath === undefined) {
    const bytes = exportOnnx(buildBertGraph(TINY_CONFIG, 1));
    await Deno.writeFile(join(out, "tiny-bert.onnx"), bytes);
    ({ graph: imported, opset } = importOnnx(bytes, {
      path: join(out, "tiny-bert.onnx"),
    }));
    console.log(
      `built a ${TINY_CONFIG.num_hidden_layers}-layer, ${TINY_CONFIG.hidden_size}-wide BERT as ONNX (${bytes.length} bytes) → ${
        join(out, "tiny-bert.onnx")
      }`,
    );
  } else {
    ({ graph: imported, opset } = importOnnxFile(modelPath));
  }
  const tokenizer = await loadTokenizer(files.vocab);
  const [train, dev] = [
    await readSplit(files, "train"),
    await readSplit(files, "dev"),
  ];
  const batch = (options.get("batch") as number | undefined) ?? 16;
  const seq = (options.get("seq") as number | undefined) ?? 16;
  const epochs = (options.get("epochs") as number | undefined) ?? 5;

  const { compiled, folded } = compileForSummary(imported, {
    batch,
    seq,
    dims: {},
  });
  console.log("\n" + summarize(imported, compiled, folded, opset) + "\n");
  const progress = new Progress(
    "train: step",
    Math.ceil(train.length / batch) * epochs,
    "tokens",
  );
  const result = await fineTune(imported, train, dev, tokenizer, {
    task: files.task,
    head: "classification:2",
    epochs,
    batch,
    seq,
    learningRate: lr,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    seed: (options.get("seed") as number | undefined) ?? 1,
  }, {
    onStep: (step, _total, _loss, tokens) => {
      if (step % 10 === 0) progress.report(step, tokens);
    },
    onEpoch: (r) =>
      console.error(
        `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, dev ${
          JSON.stringify(r.dev)
        }, ${r.tokensPerSecond.toFixed(0)} tokens/s`,
      ),
  });
  const curve = lineChart("Training loss", "step", "loss", [{
    name: "loss per step",
    points: result.losses.map((l, i) => [i + 1, l]),
  }]);
  await Deno.writeTextFile(join(out, "loss.svg"), curve);
  await Deno.writeTextFile(
    join(out, "metrics.json"),
    JSON.stringify({ task: files.task, history: result.history }, null, 1),
  );
  const last = result.history[result.history.length - 1];
  console.log(
    `loss  ${result.losses[0].toFixed(3)} ${sparkline(result.losses)} ${
      result.losses[result.losses.length - 1].toFixed(3)
    }`,
  );
  console.log(
    `dev   ${
      Object.entries(last.dev).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(
        ", ",
      )
    } after ${last.step} steps`,
  );
  console.log(
    `wrote ${join(out, "loss.svg")} and ${join(out, "metrics.json")}`,
  );
  return 0;
}

if (import.meta.main) runMain(demo, USAGE);
