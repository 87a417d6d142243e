/**
 * Checkpoint files, the only Deno-specific part of training: everything
 * else works on bytes (`checkpoint.ts`) and runs in a browser too.
 *
 * A save is atomic: the bytes go to `path.tmp`, are fsynced, and the file is
 * renamed over `path` (then the directory is fsynced so the rename itself
 * survives a crash). A crash at any point leaves either the old checkpoint
 * or the new one at `path`, never a mix; a stale `path.tmp` is overwritten
 * by the next save.
 *
 * @module
 */

import { decodeState, encodeState } from "./checkpoint.ts";
import type { TrainingState } from "./state.ts";

/** Saves `state` to `path` atomically (see the module documentation). */
export async function saveCheckpoint(
  path: string,
  state: TrainingState,
): Promise<void> {
  // Encode first: a state that cannot be saved never touches the disk.
  const bytes = encodeState(state);
  const tmp = `${path}.tmp`;
  try {
    const file = await Deno.open(tmp, {
      write: true,
      create: true,
      truncate: true,
    });
    try {
      let written = 0;
      while (written < bytes.length) {
        written += await file.write(bytes.subarray(written));
      }
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await syncDirectory(path);
}

/** Loads the checkpoint at `path`; a bad file throws `CheckpointError`. */
export async function loadCheckpoint(path: string): Promise<TrainingState> {
  return decodeState(await Deno.readFile(path), path);
}

/** Fsyncs the directory holding `path`, where the OS allows it. */
async function syncDirectory(path: string): Promise<void> {
  // Windows cannot open a directory as a file, so there is nothing to sync.
  if (Deno.build.os === "windows") return;
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
