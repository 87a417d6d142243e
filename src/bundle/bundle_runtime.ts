/**
 * Bundles the runtime into one ES module that runs unchanged in Deno, Node
 * and a browser, with esbuild's JS API. As a command it writes
 * `build/runtime.mjs`:
 *
 * ```sh
 * deno run -A src/bundle/bundle_runtime.ts [ENTRY.ts] [--out FILE]
 * ```
 *
 * esbuild's JS API works from Deno as it does from Node: the npm package
 * `esbuild` spawns its native binary (`@esbuild/linux-x64` and the like,
 * installed into node_modules/ by `"nodeModulesDir": "auto"`) and talks to
 * it over stdio, which needs `--allow-run --allow-read --allow-env`
 * (`-A` covers them). The child process is stopped after every bundle, so
 * two bundles must not run at the same time.
 *
 * @module
 */

import * as esbuild from "esbuild";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  formatOptions,
  type OptionSpec,
  parseArgs,
  UsageError,
} from "../cli/args.ts";
import { runMain } from "../cli/main.ts";
import { RuntimeBundleError } from "./errors.ts";
import {
  denoGlobalUsers,
  importViolations,
  portabilityPlugin,
} from "./portability.ts";

/** The repository root; bundle paths in messages are relative to it. */
export const REPO_ROOT: string = fileURLToPath(
  new URL("../../", import.meta.url),
);

/** The module bundled when none is named: the runtime's public API plus its smoke check. */
export const DEFAULT_ENTRY: string = join(REPO_ROOT, "runtime/bundle_entry.ts");

/** Where the command writes the bundle when `--out` is not given. */
export const DEFAULT_OUT: string = join(REPO_ROOT, "build/runtime.mjs");

/**
 * Bundles `entry` and everything it imports into one ES2022 module.
 *
 * @param entry Path of the entry module, absolute or relative to the
 * working directory.
 * @returns The bundle's code.
 * @throws {RuntimeBundleError} if a bundled module imports a Node built-in
 * or uses the Deno global.
 */
export async function bundleRuntime(
  entry: string = DEFAULT_ENTRY,
): Promise<string> {
  const entryKey = relative(REPO_ROOT, resolve(entry));
  try {
    const result = await esbuild.build({
      entryPoints: [resolve(entry)],
      absWorkingDir: REPO_ROOT,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      write: false,
      metafile: true,
      logLevel: "silent",
      plugins: [portabilityPlugin],
    }).catch((e: unknown) => {
      const violations = e instanceof Error && "errors" in e
        ? importViolations(e.errors as esbuild.Message[])
        : undefined;
      throw violations ? new RuntimeBundleError(entryKey, violations) : e;
    });
    if (result.warnings.length > 0) {
      // A warning (an import that does not exist, a direct eval, ...) would
      // surface as a broken runtime in some user's environment; refuse now.
      const lines = result.warnings.map((w) =>
        `${w.location?.file}:${w.location?.line}: ${w.text}`
      );
      throw new Error(
        `esbuild warned while bundling ${entryKey}; fix these first:\n${
          lines.join("\n")
        }`,
      );
    }
    const denoUsers = await denoGlobalUsers(
      result.metafile,
      REPO_ROOT,
      entryKey,
    );
    if (denoUsers.length > 0) throw new RuntimeBundleError(entryKey, denoUsers);
    return result.outputFiles[0].text;
  } finally {
    await esbuild.stop();
  }
}

const OPTIONS: Record<string, OptionSpec> = {
  out: {
    kind: "string",
    value: "FILE",
    help: `where to write the bundle (default ${relative(".", DEFAULT_OUT)})`,
  },
  help: { kind: "flag", help: "show this help" },
};

const USAGE =
  `Usage: deno run -A src/bundle/bundle_runtime.ts [ENTRY.ts] [options]

Bundles the runtime (default entry: ${
    relative(".", DEFAULT_ENTRY)
  }) into one ES module
for Deno, Node and browsers.

Options:
${formatOptions(OPTIONS)}`;

async function bundleCommand(argv: readonly string[]): Promise<number> {
  const { options, positional } = parseArgs(argv, OPTIONS);
  if (options.get("help")) {
    console.log(USAGE);
    return 0;
  }
  if (positional.length > 1) {
    throw new UsageError(
      `Expected at most one entry module, got ${positional.length}: ${
        positional.join(" ")
      }.`,
    );
  }
  const out = (options.get("out") as string | undefined) ?? DEFAULT_OUT;
  const code = await bundleRuntime(positional[0]);
  await Deno.mkdir(dirname(resolve(out)), { recursive: true });
  await Deno.writeTextFile(out, code);
  console.log(
    `wrote ${relative(".", out)} (${(code.length / 1024).toFixed(1)} KiB)`,
  );
  return 0;
}

if (import.meta.main) runMain(bundleCommand, USAGE);
