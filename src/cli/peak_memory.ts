/**
 * The peak resident memory of this process, for run records: Linux reports
 * it as `VmHWM` in /proc/self/status; elsewhere there is no portable source,
 * so the answer is `null` rather than a guess.
 *
 * @module
 */

/** Peak resident set size in bytes, or `null` where the OS does not say. */
export function peakResidentBytes(): number | null {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}
