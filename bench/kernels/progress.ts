/**
 * A one-line progress report with an ETA for long benchmark runs, written to
 * stderr so the table on stdout stays clean.
 * @module
 */

/** Tracks weighted work done; the ETA assumes the remaining work runs at the same pace. */
export class Progress {
  readonly #start = performance.now();
  #done = 0;

  /** Creates a tracker for `total` units of work. */
  constructor(readonly total: number) {}

  /** Records `units` more done and prints `label` with percent and ETA. */
  step(units: number, label: string): void {
    this.#done += units;
    const elapsed = (performance.now() - this.#start) / 1000;
    const left = elapsed * (this.total - this.#done) / this.#done;
    const pct = (100 * this.#done / this.total).toFixed(0).padStart(3);
    console.error(
      `[${pct}%] ${label}  elapsed ${clock(elapsed)}  ETA ${clock(left)}`,
    );
  }
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
