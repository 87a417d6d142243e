/**
 * The runtime bundler: one self-contained ES module, and clear refusals of
 * Node built-in imports and of the Deno global, both from the API and from
 * the command. Bad entry modules are written to a temporary folder so that
 * no deliberately broken module sits in the repository.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { bundleRuntime, REPO_ROOT } from "../../src/bundle/bundle_runtime.ts";
import { RuntimeBundleError } from "../../src/bundle/errors.ts";

const READ_FILE = join(REPO_ROOT, "runtime/data/read_file.ts");
const CLI = join(REPO_ROOT, "src/bundle/bundle_runtime.ts");

/** Writes `source` as entry.ts in a fresh temporary folder and runs `body`. */
async function withEntry(
  source: string,
  body: (entry: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tessera-bundle-" });
  try {
    const entry = join(dir, "entry.ts");
    await Deno.writeTextFile(entry, source);
    await body(entry, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function bundleError(entry: string): Promise<RuntimeBundleError> {
  const error = await bundleRuntime(entry).then(
    () => assert.fail(`bundling ${entry} should have failed`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RuntimeBundleError, String(error));
  return error;
}

Deno.test("the runtime bundles into one ES module with no imports and without read_file.ts", async () => {
  const code = await bundleRuntime();
  // An import statement, not a key or method such as the WASM builder's
  // `import: 2` and `importMemory(`.
  assert.doesNotMatch(
    code,
    /^\s*import(\s+[\w{*"']|\s*[{*"'])|\bimport\s*\(|\brequire\s*\(/m,
  );
  assert.equal(code.match(/^export\s*\{/gm)?.length, 1);
  assert.match(code, /\brunSmoke,\n/);
  assert.match(code, /\bBertTokenizer,\n/);
  // esbuild heads each module's code with a comment naming it.
  assert.doesNotMatch(code, /\/\/ runtime\/data\/read_file\.ts/);
});

Deno.test("Node built-in imports are refused with their file and line", async () => {
  await withEntry(
    `import { readFileSync } from "node:fs";
import { join } from "path";
export const read = (a: string, b: string) => readFileSync(join(a, b), "utf8");
`,
    async (entry) => {
      const error = await bundleError(entry);
      const file = relative(REPO_ROOT, entry);
      assert.deepEqual(
        [...error.violations].sort((a, b) => a.line - b.line),
        [
          { file, line: 1, reason: `imports the Node built-in "node:fs"` },
          { file, line: 2, reason: `imports the Node built-in "path"` },
        ],
      );
      assert.equal(error.entry, file);
      assert.match(
        error.message,
        /entry\.ts:1 imports the Node built-in "node:fs"/,
      );
    },
  );
});

Deno.test("the Deno global is refused, naming the module and the imports that reached it", async () => {
  await withEntry(
    `export { readText } from ${JSON.stringify(READ_FILE)};
export const version = globalThis.Deno?.version;
`,
    async (entry) => {
      const error = await bundleError(entry);
      const file = relative(REPO_ROOT, entry);
      assert.deepEqual(
        [...error.violations].sort((a, b) => a.file.localeCompare(b.file)),
        [
          { file, line: 0, reason: "uses the Deno global" },
          {
            file: "runtime/data/read_file.ts",
            line: 0,
            reason:
              `uses the Deno global (imported via ${file} → runtime/data/read_file.ts)`,
          },
        ].sort((a, b) => a.file.localeCompare(b.file)),
      );
    },
  );
});

Deno.test("the word Deno in strings, comments and local names is not the global", async () => {
  await withEntry(
    `// Deno.exit() would be wrong here.
const Deno = { answer: 42 };
export const text = "Deno.readTextFile" + Deno.answer;
`,
    async (entry) => {
      assert.match(await bundleRuntime(entry), /Deno\.readTextFile/);
    },
  );
});

Deno.test("an esbuild warning fails the bundle instead of shipping a doubtful runtime", async () => {
  await withEntry(
    `export const run = (code: string) => eval(code);\n`,
    async (entry) => {
      await assert.rejects(
        bundleRuntime(entry),
        /^Error: esbuild warned while bundling .*entry\.ts; fix these first:\n.*entry\.ts:1: Using direct eval/,
      );
    },
  );
});

Deno.test("the command writes the bundle, or prints one error line and exits 1", async () => {
  await withEntry(`import "node:fs";\n`, async (badEntry, dir) => {
    const out = join(dir, "out/runtime.mjs");
    const ok = await run(["--out", out]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^wrote .*runtime\.mjs \(\d+\.\d KiB\)\n$/);
    assert.equal(await Deno.readTextFile(out), await bundleRuntime());

    const bad = await run([badEntry, "--out", join(dir, "bad.mjs")]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^error: The runtime bundle of .*entry\.ts must run unchanged in Deno, Node and browsers, but .*entry\.ts:1 imports the Node built-in "node:fs"\. .*\n$/,
    );
    await assert.rejects(Deno.stat(join(dir, "bad.mjs")), Deno.errors.NotFound);
  });
});

async function run(args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}
