/**
 * Where an artifact's files come from, the same code in every environment:
 * a base URL (fetch; how a browser loads one), a directory path (Deno and
 * Node, through `node:fs/promises` as `process.getBuiltinModule` hands it
 * out, so the bundle imports nothing), or any reader the caller supplies
 * (IndexedDB, a zip, …).
 *
 * Also the atomic file write checkpoints use in Deno and Node.
 *
 * @module
 */

import { ArtifactError } from "./manifest.ts";

/** Reads one artifact file, by its path relative to the artifact folder. */
export type FileReader = (path: string) => Promise<Uint8Array<ArrayBuffer>>;

/**
 * An artifact's location: a URL (or URL text with a scheme), a directory
 * path (Deno/Node; in a browser, text without a scheme is a URL relative to
 * the page), or a reader.
 */
export type ArtifactSource = string | URL | FileReader;

/** The part of `node:fs/promises` used here (Deno and Node both have it). */
interface NodeFs {
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
  open(path: string, flags: string): Promise<{
    writeFile(data: Uint8Array): Promise<void>;
    sync(): Promise<void>;
    close(): Promise<void>;
  }>;
}

interface NodeProcess {
  readonly platform: string;
  getBuiltinModule?(name: string): unknown;
}

/** `node:fs/promises` where the host has it (Deno, Node ≥ 20.16), else undefined. */
function nodeFs(): NodeFs | undefined {
  const process = (globalThis as { process?: NodeProcess }).process;
  return process?.getBuiltinModule?.("node:fs/promises") as NodeFs | undefined;
}

/**
 * A plain Uint8Array over its own whole buffer. Node's readFile gives a
 * Buffer, possibly a view into a shared pool, whose `slice` does not copy.
 */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? new Uint8Array(bytes.buffer)
    : new Uint8Array(bytes);
}

function fetchReader(base: URL): FileReader {
  const dir = base.href.endsWith("/") ? base : new URL(`${base.href}/`);
  return async (path) => {
    const url = new URL(path, dir);
    const response = await fetch(url);
    if (!response.ok) {
      throw new ArtifactError(
        `Cannot fetch artifact file ${url.href}: HTTP ${response.status}.`,
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  };
}

function pathReader(fs: NodeFs, dir: string): FileReader {
  return async (path) => {
    const full = `${dir.replace(/\/+$/, "")}/${path}`;
    try {
      return owned(await fs.readFile(full));
    } catch (e) {
      throw new ArtifactError(
        `Cannot read artifact file ${full}: ${(e as Error).message}`,
      );
    }
  };
}

/** The reader of `source`; see {@linkcode ArtifactSource}. */
export function artifactReader(source: ArtifactSource): FileReader {
  if (typeof source === "function") return source;
  const fs = nodeFs();
  const text = String(source);
  const scheme = /^[a-z][a-z0-9+.-]*:/i.test(text);
  // Node's fetch has no file: URLs, so those are read as paths.
  if (fs !== undefined && (!scheme || text.startsWith("file:"))) {
    const path = scheme ? decodeURIComponent(new URL(text).pathname) : text;
    return pathReader(fs, path);
  }
  const page = (globalThis as { location?: { href: string } }).location;
  if (!scheme && page === undefined) {
    throw new ArtifactError(
      `Cannot read the artifact folder '${text}': this environment has no file system; pass the artifact's URL or a reader.`,
    );
  }
  return fetchReader(new URL(text, page?.href));
}

/**
 * Writes `bytes` to `path` atomically (Deno/Node): to `path.tmp`, fsynced,
 * renamed over `path`, then the folder fsynced so the rename survives a
 * crash. A crash leaves the old file or the new one, never a mix.
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const fs = nodeFs();
  if (fs === undefined) {
    throw new ArtifactError(
      `Cannot write ${path}: this environment has no file system; keep the checkpoint bytes instead.`,
    );
  }
  const tmp = `${path}.tmp`;
  try {
    const file = await fs.open(tmp, "w");
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(tmp, path);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
  // Windows cannot open a folder as a file, so there is nothing to sync.
  const process = (globalThis as { process?: NodeProcess }).process;
  if (process?.platform === "win32") return;
  const slash = path.lastIndexOf("/");
  const dir = await fs.open(
    slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash),
    "r",
  );
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Reads a whole file (Deno/Node), e.g. a checkpoint. */
export async function readFileBytes(
  path: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const fs = nodeFs();
  if (fs === undefined) {
    throw new ArtifactError(
      `Cannot read ${path}: this environment has no file system.`,
    );
  }
  return owned(await fs.readFile(path));
}
