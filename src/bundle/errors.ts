/**
 * The error the runtime bundler throws when the runtime's import graph holds
 * code that only runs in Deno or Node.
 *
 * @module
 */

/** One place where bundled code depends on Deno or Node. */
export interface PortabilityViolation {
  /** The module, relative to the repository root. */
  readonly file: string;
  /** 1-based line of the offending import; 0 when not tied to one line. */
  readonly line: number;
  /** What is wrong, e.g. `imports the Node built-in "node:fs"`. */
  readonly reason: string;
}

/** The runtime's import graph reaches Deno- or Node-only code. */
export class RuntimeBundleError extends Error {
  /** The entry module that was bundled. */
  readonly entry: string;
  /** Every violation found, in the order esbuild met them. */
  readonly violations: readonly PortabilityViolation[];

  /**
   * @param entry The bundled entry, as shown to the user.
   * @param violations At least one violation.
   */
  constructor(entry: string, violations: readonly PortabilityViolation[]) {
    const list = violations.map((v) =>
      `${v.line > 0 ? `${v.file}:${v.line}` : v.file} ${v.reason}`
    );
    super(
      `The runtime bundle of ${entry} must run unchanged in Deno, Node and browsers, but ${
        list.join("; ")
      }. Keep environment-specific code out of the modules the entry imports, as runtime/data/read_file.ts is kept out of runtime/data/mod.ts.`,
    );
    this.name = "RuntimeBundleError";
    this.entry = entry;
    this.violations = violations;
  }
}
