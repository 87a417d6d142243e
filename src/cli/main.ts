/**
 * The shared entry point of every CLI command: runs it and turns errors into
 * one clear line and a non-zero exit, never a stack trace.
 *
 * @module
 */

import { UsageError } from "./args.ts";

/**
 * Runs `command` with the process arguments and exits with its code. Errors
 * print as `error: <message>`; usage errors also point at `--help`.
 */
export async function runMain(
  command: (argv: readonly string[]) => Promise<number>,
  usage: string,
): Promise<never> {
  try {
    Deno.exit(await command(Deno.args));
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    console.error(`error: ${error.message}`);
    if (error instanceof UsageError) {
      console.error(
        `\n${usage.split("\n")[0]}\nRun with --help for the options.`,
      );
    }
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
