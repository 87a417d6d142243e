/**
 * The progress line long commands print: done/total, throughput and ETA,
 * rewritten in place on a terminal and one line per update elsewhere.
 *
 * @module
 */

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${
      String(Math.floor(s / 60) % 60).padStart(2, "0")
    }m`
    : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** A progress line for `label`, started now. */
export class Progress {
  private readonly start = performance.now();

  /** Progress of `total` steps; `unit` names what `amount` counts (e.g. tokens). */
  constructor(
    readonly label: string,
    readonly total: number,
    readonly unit: string,
  ) {}

  /**
   * The line after `done` steps that processed `amount` units in all;
   * `detail` (e.g. the last loss) follows the step count.
   */
  line(done: number, amount: number, detail?: string): string {
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = amount / Math.max(elapsed, 1e-9);
    const eta = (elapsed / Math.max(done, 1)) * (this.total - done);
    const shown = detail === undefined ? "" : ` · ${detail}`;
    return `${this.label} ${done}/${this.total}${shown} · ${
      rate.toFixed(0)
    } ${this.unit}/s · elapsed ${formatDuration(elapsed)} · ETA ${
      formatDuration(eta)
    }`;
  }

  /** Writes the line to stderr (in place on a terminal). */
  report(done: number, amount: number, detail?: string): void {
    const text = this.line(done, amount, detail);
    const tty = Deno.stderr.isTerminal();
    const end = tty ? (done === this.total ? "\n" : "") : "\n";
    Deno.stderr.writeSync(
      new TextEncoder().encode(`${tty ? "\r\x1b[K" : ""}${text}${end}`),
    );
  }
}
