/**
 * Checks that what goes into the runtime bundle runs in any JavaScript
 * environment: no Node built-in imports (an esbuild plugin refuses them at
 * resolve time) and no references to the `Deno` global (found per module
 * after the build).
 *
 * @module
 */

import * as esbuild from "esbuild";
import { builtinModules } from "node:module";
import { extname, join } from "node:path";
import type { PortabilityViolation } from "./errors.ts";

/** Name of the plugin, which is how its errors are told from esbuild's own. */
const PLUGIN_NAME = "tessera-portability";

// Both spellings count: `import "fs"` is as Node-only as `import "node:fs"`.
const NODE_BUILTINS = new Set(builtinModules);

/** An esbuild plugin that fails the build on any import of a Node built-in. */
export const portabilityPlugin: esbuild.Plugin = {
  name: PLUGIN_NAME,
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!args.path.startsWith("node:") && !NODE_BUILTINS.has(args.path)) {
        return undefined;
      }
      return {
        errors: [{ text: `imports the Node built-in "${args.path}"` }],
      };
    });
  },
};

/**
 * The portability violations among the errors of a failed build, or
 * undefined when some error is not one (then esbuild's own message, which
 * lists every error, is the better report).
 */
export function importViolations(
  errors: readonly esbuild.Message[],
): PortabilityViolation[] | undefined {
  if (errors.length === 0 || errors.some((e) => e.pluginName !== PLUGIN_NAME)) {
    return undefined;
  }
  return errors.map((e) => ({
    file: e.location?.file ?? "",
    line: e.location?.line ?? 0,
    reason: e.text,
  }));
}

// esbuild's define swaps free references to the Deno global (never strings,
// comments or local variables named Deno) for this name, which is then
// looked for in each module's transformed code.
const SENTINEL = "__tessera_deno_global__";
const DENO_DEFINE = { "Deno": SENTINEL, "globalThis.Deno": SENTINEL };

const LOADERS: Readonly<Record<string, esbuild.Loader>> = {
  ".ts": "ts",
  ".mts": "ts",
  ".cts": "ts",
  ".tsx": "tsx",
  ".js": "js",
  ".mjs": "js",
  ".cjs": "js",
  ".jsx": "jsx",
};

/**
 * The bundled modules that reference the `Deno` global, each with the import
 * chain that pulled it in.
 *
 * @param metafile The build's metafile (input paths relative to `root`).
 * @param root The build's working directory.
 * @param entry The entry's key in the metafile.
 */
export async function denoGlobalUsers(
  metafile: esbuild.Metafile,
  root: string,
  entry: string,
): Promise<PortabilityViolation[]> {
  const violations: PortabilityViolation[] = [];
  for (const file of Object.keys(metafile.inputs)) {
    const loader = LOADERS[extname(file)];
    if (loader === undefined) continue;
    const source = await Deno.readTextFile(join(root, file));
    const { code } = await esbuild.transform(source, {
      loader,
      define: DENO_DEFINE,
    });
    if (!code.includes(SENTINEL)) continue;
    const chain = importChain(metafile, entry, file);
    violations.push({
      file,
      line: 0,
      reason: chain.length > 1
        ? `uses the Deno global (imported via ${chain.join(" → ")})`
        : "uses the Deno global",
    });
  }
  return violations;
}

/** The shortest import path from `entry` to `target`, both ends included. */
function importChain(
  metafile: esbuild.Metafile,
  entry: string,
  target: string,
): string[] {
  const parent = new Map<string, string>([[entry, entry]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (file === target) break;
    for (const { path } of metafile.inputs[file]?.imports ?? []) {
      if (parent.has(path)) continue;
      parent.set(path, file);
      queue.push(path);
    }
  }
  const chain = [target];
  for (let p = parent.get(target); p !== undefined && chain[0] !== entry;) {
    chain.unshift(p);
    p = parent.get(p);
  }
  return chain;
}
