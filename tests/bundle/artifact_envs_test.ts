/**
 * One training artifact, compiled once by `deno task compile --train`, runs
 * through its own `tessera.js` unchanged in Deno, Node and headless
 * Chromium (which fetches it from a local HTTP server): the same losses,
 * checkpoint round trip, prediction and evaluation everywhere, and the same
 * as the runtime's TypeScript source gives.
 */

import assert from "node:assert/strict";
import { extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import * as source from "../../runtime/artifact/mod.ts";
import { compileTinyArtifact } from "../artifact/tiny_artifact.ts";
import { drive } from "./artifact_driver.mjs";
import {
  answerInChromium,
  findChromium,
  pageWith,
  type ServedFile,
} from "./_chromium.ts";

const DRIVER = new URL("./artifact_driver.mjs", import.meta.url);

/** What {@linkcode drive} answers, as far as these checks read it. */
interface DriveAnswer {
  losses: number[];
  straight: number[];
  again: number[];
  step: number;
  prediction: { probabilities: number[]; logits: number[] };
  evaluation: { logits: number[][] };
}

/** The answer is sound on its own: the loss falls, resume and predict agree. */
function assertSound(answer: DriveAnswer): void {
  assert.equal(answer.losses.length, 4);
  // Steps 1, 3 and 5 train on the same batch: its loss falls.
  const [first, , third] = answer.losses;
  assert.ok(third < first && answer.straight[0] < third, `${answer.losses}`);
  assert.deepEqual(answer.again, answer.straight, "resume = uninterrupted");
  assert.equal(answer.step, 6);
  const sum = answer.prediction.probabilities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12, `probabilities sum to ${sum}`);
  assert.deepEqual(answer.evaluation.logits[0], answer.prediction.logits);
}

async function inNode(dir: string, out: string): Promise<DriveAnswer> {
  const script = join(dir, "drive.mjs");
  await Deno.writeTextFile(
    script,
    `import * as tessera from ${
      JSON.stringify(pathToFileURL(join(out, "tessera.js")).href)
    };
import { drive } from ${JSON.stringify(DRIVER.href)};
const answer = await drive(tessera, process.argv[2], process.argv[3]);
process.stdout.write(JSON.stringify(answer));
`,
  );
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [script, out, join(dir, "node-checkpoint.bin")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(code, 0, `node failed:\n${text(stderr)}`);
  return JSON.parse(text(stdout));
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

async function inChromium(out: string): Promise<DriveAnswer> {
  const page = pageWith(
    `import * as tessera from "/artifact/tessera.js";
  import { drive } from "/driver.mjs";`,
    `return await drive(tessera, "/artifact/");`,
  );
  const serve = async (path: string): Promise<ServedFile | undefined> => {
    if (path === "/") return [page, "text/html"];
    if (path === "/driver.mjs") {
      return [await Deno.readTextFile(DRIVER), "text/javascript"];
    }
    if (!path.startsWith("/artifact/") || path.includes("..")) return;
    const file = join(out, path.slice("/artifact/".length));
    const bytes = await Deno.readFile(file).catch(() => undefined);
    const type = TYPES[extname(file)] ?? "application/octet-stream";
    return bytes && [bytes, type];
  };
  return await answerInChromium(await findChromium(), serve) as DriveAnswer;
}

Deno.test("one artifact trains identically in Deno, Node and Chromium", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-artifact-envs-" });
  try {
    const { out } = await compileTinyArtifact(dir);
    const answers: Record<string, DriveAnswer> = {};
    const ran = [
      await t.step("Deno (bundle)", async () => {
        const tessera = await import(
          pathToFileURL(join(out, "tessera.js")).href
        );
        answers.deno = JSON.parse(JSON.stringify(
          await drive(tessera, out, join(dir, "deno-checkpoint.bin")),
        ));
        assertSound(answers.deno);
      }),
      await t.step("Deno (TypeScript source)", async () => {
        answers.source = JSON.parse(JSON.stringify(await drive(source, out)));
      }),
      await t.step("Node", async () => {
        answers.node = await inNode(dir, out);
        assertSound(answers.node);
      }),
      await t.step("Chromium", async () => {
        answers.chromium = await inChromium(out);
        assertSound(answers.chromium);
      }),
    ];
    // A failed step has already failed the test.
    if (ran.every(Boolean)) {
      await t.step("identical everywhere", () => {
        // The artifact ships one GEMM without relaxed SIMD, so every engine
        // rounds the same: answers agree to the last bit.
        for (const env of ["source", "node", "chromium"]) {
          assert.deepEqual(answers[env], answers.deno, env);
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
