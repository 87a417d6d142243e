/**
 * Runs a repository script as a user would (`deno run -A SCRIPT ARGS`) and
 * returns its exit code and output, for CLI tests.
 *
 * @module
 */

/** What a script run printed and how it ended. */
export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `script` (a path or file URL) with `args`. */
export async function runScript(
  script: string | URL,
  ...args: string[]
): Promise<ScriptResult> {
  const path = script instanceof URL ? script.pathname : script;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
