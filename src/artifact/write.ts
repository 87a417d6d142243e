/**
 * Writes a training artifact's folder: the files `build.ts` made plus the
 * runtime bundled as `tessera.js`. manifest.json goes last, so a folder
 * whose write was cut short has no manifest and refuses to load.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { bundleRuntime, REPO_ROOT } from "../bundle/bundle_runtime.ts";
import type { ArtifactFiles } from "./build.ts";

/** The entry bundled as each artifact's `tessera.js`. */
export const ARTIFACT_RUNTIME_ENTRY: string = join(
  REPO_ROOT,
  "runtime/artifact/mod.ts",
);

/** Writes `artifact` and the runtime bundle into `dir` (created if needed). */
export async function writeArtifact(
  dir: string,
  artifact: ArtifactFiles,
): Promise<void> {
  const bundle = await bundleRuntime(ARTIFACT_RUNTIME_ENTRY);
  // A manifest left from an earlier artifact must not describe new files.
  await Deno.remove(join(dir, "manifest.json")).catch(() => {});
  const last = "manifest.json";
  const files: [string, Uint8Array | string][] = [
    ...[...artifact.files].filter(([path]) => path !== last),
    [artifact.manifest.runtime, bundle],
    [last, artifact.files.get(last)!],
  ];
  for (const [path, content] of files) {
    const full = join(dir, path);
    await Deno.mkdir(dirname(full), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(full, content);
    else await Deno.writeFile(full, content);
  }
}
