/**
 * How much CPU other processes used while we measured, from Linux
 * `/proc/stat` (all busy time) minus `/proc/self/stat` (ours, workers
 * included). On a 2-core box a second busy process halves a two-thread
 * GEMM, so the benchmark records this next to every two-thread number.
 * Elsewhere (no procfs) it reports `undefined`.
 * @module
 */

const CLOCK_TICKS_PER_S = 100;

interface Snapshot {
  readonly busy: number;
  readonly self: number;
  readonly at: number;
}

function snapshot(): Snapshot | undefined {
  try {
    const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0]
      .trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy excludes idle, iowait.
    const busy = cpu.reduce((s, v) => s + v, 0) - cpu[3] - cpu[4];
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15; 12 and 13 after the ") " split.
    const self = Number(fields[11]) + Number(fields[12]);
    return { busy, self, at: performance.now() };
  } catch {
    return undefined;
  }
}

/** A running measurement of other processes' CPU use. */
export class ForeignLoad {
  readonly #start = snapshot();

  /** Cores' worth of CPU others used since construction (0 … cores). */
  cores(): number | undefined {
    const end = snapshot();
    if (!this.#start || !end) return undefined;
    const seconds = (end.at - this.#start.at) / 1000;
    if (seconds <= 0) return undefined;
    const ticks = end.busy - this.#start.busy - (end.self - this.#start.self);
    return Math.max(0, ticks / CLOCK_TICKS_PER_S / seconds);
  }
}
