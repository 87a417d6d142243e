/**
 * Builds a WebAssembly module binary from typed parts: function types
 * (deduplicated), imports (functions and a memory, shared or not), an own
 * memory, functions emitted through {@link FunctionEmitter}, and exports.
 *
 * @example
 * ```ts
 * const mb = new ModuleBuilder();
 * const add = mb.addFunction("add", [["a", "i32"], ["b", "i32"]], ["i32"], (f) => {
 *   f.emit("local.get", f.param("a")).emit("local.get", f.param("b")).emit("i32.add");
 * });
 * mb.exportFunction("add", add);
 * WebAssembly.validate(mb.encode()); // true
 * ```
 * @module
 */

import { encodeUnsigned } from "./leb128.ts";
import {
  type FuncRef,
  FunctionEmitter,
  type ValType,
  VALTYPE_CODE,
} from "./function_emitter.ts";

/** Memory limits in 64 KiB pages. A shared memory must declare `maximum`. */
export interface MemoryLimits {
  /** Initial size in pages. */
  initial: number;
  /** Maximum size in pages. */
  maximum?: number;
  /** Whether the memory is a SharedArrayBuffer-backed shared memory. */
  shared?: boolean;
}

interface FuncType {
  params: readonly ValType[];
  results: readonly ValType[];
}

type Import =
  | { module: string; name: string; kind: "func"; typeIndex: number }
  | { module: string; name: string; kind: "memory"; limits: MemoryLimits };

interface DefinedFunction {
  typeIndex: number;
  emitter: FunctionEmitter;
}

const SECTION = {
  type: 1,
  import: 2,
  function: 3,
  memory: 5,
  export: 7,
  code: 10,
};

/** Assembles a module; see the module doc for an example. */
export class ModuleBuilder {
  readonly #types: FuncType[] = [];
  readonly #imports: Import[] = [];
  readonly #functions: DefinedFunction[] = [];
  readonly #exports: { name: string; kind: number; index: number }[] = [];
  #memory: MemoryLimits | undefined;
  #importedFuncCount = 0;

  /** Returns the index of the function type, adding it if new. */
  addType(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    const at = this.#types.findIndex((t) =>
      `${t.params.join(",")}->${t.results.join(",")}` === key
    );
    if (at >= 0) return at;
    this.#types.push({ params, results });
    return this.#types.length - 1;
  }

  /** Imports a host function; all imports must precede defined functions. */
  importFunction(
    module: string,
    name: string,
    params: readonly ValType[],
    results: readonly ValType[],
  ): FuncRef {
    if (this.#functions.length > 0) {
      throw new Error(
        `Import ${module}.${name} comes after a defined function; import functions first.`,
      );
    }
    const typeIndex = this.addType(params, results);
    this.#imports.push({ module, name, kind: "func", typeIndex });
    return { index: this.#importedFuncCount++, name: `${module}.${name}` };
  }

  /** Imports the module's memory (at most one memory per module). */
  importMemory(module: string, name: string, limits: MemoryLimits): void {
    this.#claimMemory(limits);
    this.#imports.push({ module, name, kind: "memory", limits });
  }

  /** Declares a memory owned by the module (at most one memory per module). */
  defineMemory(limits: MemoryLimits): void {
    this.#claimMemory(limits);
    this.#memory = limits;
  }

  #claimMemory(limits: MemoryLimits): void {
    const hasMemory = this.#memory !== undefined ||
      this.#imports.some((i) => i.kind === "memory");
    if (hasMemory) throw new Error("The module already has a memory.");
    if (limits.shared && limits.maximum === undefined) {
      throw new Error("A shared memory must declare a maximum size.");
    }
    if (limits.maximum !== undefined && limits.maximum < limits.initial) {
      throw new RangeError(
        `Memory maximum ${limits.maximum} is below its initial size ${limits.initial}.`,
      );
    }
  }

  /** Defines a function, emitting its body with `build`. */
  addFunction(
    name: string,
    params: readonly (readonly [string, ValType])[],
    results: readonly ValType[],
    build: (f: FunctionEmitter) => void,
  ): FuncRef {
    const emitter = new FunctionEmitter(name, params, results);
    build(emitter);
    const typeIndex = this.addType(params.map(([, t]) => t), results);
    this.#functions.push({ typeIndex, emitter });
    return {
      index: this.#importedFuncCount + this.#functions.length - 1,
      name,
    };
  }

  /** The emitter of the defined function `ref` (for listings). */
  emitterOf(ref: FuncRef): FunctionEmitter {
    const fn = this.#functions[ref.index - this.#importedFuncCount];
    if (!fn) {
      throw new Error(`Function ${ref.name} is not defined in this module.`);
    }
    return fn.emitter;
  }

  /** Exports a function under `name`. */
  exportFunction(name: string, ref: FuncRef): void {
    this.#exports.push({ name, kind: 0x00, index: ref.index });
  }

  /** Exports the module's memory under `name`. */
  exportMemory(name: string): void {
    this.#exports.push({ name, kind: 0x02, index: 0 });
  }

  /** Encodes the module binary. */
  encode(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, items: number[][]) => {
      if (items.length === 0) return;
      const body = concat([[...encodeUnsigned(items.length)], ...items]);
      out.push(id, ...encodeUnsigned(body.length));
      append(out, body);
    };
    section(
      SECTION.type,
      this.#types.map((t) => [
        0x60,
        ...vector(t.params.map((p) => [VALTYPE_CODE[p]])),
        ...vector(t.results.map((r) => [VALTYPE_CODE[r]])),
      ]),
    );
    section(
      SECTION.import,
      this.#imports.map((imp) => [
        ...name(imp.module),
        ...name(imp.name),
        ...(imp.kind === "func"
          ? [0x00, ...encodeUnsigned(imp.typeIndex)]
          : [0x02, ...limitsBytes(imp.limits)]),
      ]),
    );
    section(
      SECTION.function,
      this.#functions.map((f) => [...encodeUnsigned(f.typeIndex)]),
    );
    section(SECTION.memory, this.#memory ? [limitsBytes(this.#memory)] : []);
    section(
      SECTION.export,
      this.#exports.map((e) => [
        ...name(e.name),
        e.kind,
        ...encodeUnsigned(e.index),
      ]),
    );
    section(
      SECTION.code,
      this.#functions.map((f) => {
        const body = f.emitter.encode();
        return concat([[...encodeUnsigned(body.length)], body]);
      }),
    );
    return Uint8Array.from(out);
  }
}

/** Appends without spreading, so megabyte-sized bodies do not overflow the stack. */
function append(out: number[], bytes: ArrayLike<number>): void {
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

function concat(parts: ArrayLike<number>[]): number[] {
  const out: number[] = [];
  for (const p of parts) append(out, p);
  return out;
}

function vector(items: number[][]): number[] {
  return [...encodeUnsigned(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return [...encodeUnsigned(bytes.length), ...bytes];
}

function limitsBytes(limits: MemoryLimits): number[] {
  const flags = (limits.maximum !== undefined ? 1 : 0) |
    (limits.shared ? 2 : 0);
  const out = [flags, ...encodeUnsigned(limits.initial)];
  if (limits.maximum !== undefined) out.push(...encodeUnsigned(limits.maximum));
  return out;
}
