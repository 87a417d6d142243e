/**
 * A small, strict command-line parser: every option is declared, an unknown
 * option or a bad value is a {@linkcode UsageError} with a clear message.
 *
 * @module
 */

/** A wrong option or value on the command line. */
export class UsageError extends Error {
  /** Builds the error; the CLI prints it with a pointer to `--help`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One declared option. */
export interface OptionSpec {
  /** `flag` takes no value; `int` a positive integer; `string` any text; `list` repeats. */
  readonly kind: "flag" | "int" | "string" | "list";
  /** One line for `--help`. */
  readonly help: string;
  /** Shown in `--help` as the value's name. */
  readonly value?: string;
}

/** Parsed options and positional arguments. */
export interface ParsedArgs {
  /** Options by name (without dashes). */
  readonly options: Map<string, string | number | boolean | string[]>;
  /** Positional arguments. */
  readonly positional: readonly string[];
}

/** Parses `argv` against `spec`; `--name=value` and `--name value` both work. */
export function parseArgs(
  argv: readonly string[],
  spec: Readonly<Record<string, OptionSpec>>,
): ParsedArgs {
  const options = new Map<string, string | number | boolean | string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const option = spec[name];
    if (option === undefined) {
      const known = Object.keys(spec).map((k) => `--${k}`).join(", ");
      throw new UsageError(
        `Unknown option '--${name}'. Known options: ${known}.`,
      );
    }
    if (option.kind === "flag") {
      if (eq >= 0) throw new UsageError(`Option '--${name}' takes no value.`);
      options.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith("--"))) {
      throw new UsageError(
        `Option '--${name}' needs a value (${option.value ?? option.kind}).`,
      );
    }
    if (option.kind === "int") {
      if (!/^\d+$/.test(value) || Number(value) < 1) {
        throw new UsageError(
          `Option '--${name}' must be a positive integer, got '${value}'.`,
        );
      }
      options.set(name, Number(value));
    } else if (option.kind === "list") {
      const list = (options.get(name) as string[] | undefined) ?? [];
      list.push(value);
      options.set(name, list);
    } else {
      options.set(name, value);
    }
  }
  return { options, positional };
}

/** The `--help` text of an option table. */
export function formatOptions(
  spec: Readonly<Record<string, OptionSpec>>,
): string {
  const rows = Object.entries(spec).map(([name, o]) => {
    const left = o.kind === "flag"
      ? `--${name}`
      : `--${name} ${o.value ?? o.kind.toUpperCase()}`;
    return `  ${left.padEnd(26)} ${o.help}`;
  });
  return rows.join("\n");
}

/**
 * Parses a command's arguments: prints `usage` and returns `undefined` for
 * `--help` (which every spec should declare), and checks the number of
 * positional arguments.
 */
export function parseCommand(
  argv: readonly string[],
  spec: Readonly<Record<string, OptionSpec>>,
  usage: string,
  positional: { min: number; max: number; what: string } = {
    min: 0,
    max: 0,
    what: "argument",
  },
): ParsedArgs | undefined {
  const parsed = parseArgs(argv, spec);
  if (parsed.options.get("help")) {
    console.log(usage);
    return undefined;
  }
  const n = parsed.positional.length;
  if (n < positional.min || n > positional.max) {
    const count = (k: number) => (k === 1 ? "one" : String(k));
    const expected = positional.min === positional.max
      ? count(positional.max)
      : `${positional.min} to ${positional.max}`;
    throw new UsageError(
      `Expected ${expected} ${positional.what}${
        positional.max === 1 ? "" : "s"
      }, got ${n}${n > 0 ? `: ${parsed.positional.join(", ")}` : ""}.`,
    );
  }
  return parsed;
}

/**
 * A numeric option given as text: `fallback` when absent, a
 * {@linkcode UsageError} naming `domain` when not a finite number for which
 * `ok` holds.
 */
export function numberOption(
  { options }: ParsedArgs,
  name: string,
  fallback: number,
  ok: (x: number) => boolean,
  domain: string,
): number {
  const text = options.get(name) as string | undefined;
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(value) || !ok(value)) {
    throw new UsageError(
      `Option '--${name}' must be ${domain}, got '${text}'.`,
    );
  }
  return value;
}
