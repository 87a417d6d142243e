/**
 * A typed emitter for one WebAssembly function body. Instructions are recorded
 * as (mnemonic, immediates) pairs — never raw bytes — so the same record feeds
 * the binary encoder and the readable listing. Structured control flow goes
 * through `block` / `loop` / `ifThen`, which hand out labels; branches take a
 * label, and the emitter computes the relative depth, so a misnested branch is
 * an error at generation time rather than a validation failure.
 * @module
 */

import { encodeSigned, encodeUnsigned } from "./leb128.ts";
import {
  type ImmediateKindOf,
  type OpcodeInfo,
  OPCODES,
  type OpName,
} from "./opcodes.ts";

/** A WebAssembly value type. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

/** Binary codes of the value types. */
export const VALTYPE_CODE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

/** A parameter or local of the function being emitted. */
export interface Local {
  /** Index in the function's local space (parameters first). */
  readonly index: number;
  /** Value type. */
  readonly type: ValType;
  /** Name used in listings. */
  readonly name: string;
}

/** A branch target handed out by `block`, `loop` or `ifThen`. */
export interface Label {
  /** Name used in listings. */
  readonly name: string;
}

/** A function that can be called: its index in the module's function space. */
export interface FuncRef {
  /** Function index (imports first). */
  readonly index: number;
  /** Name used in listings and exports. */
  readonly name: string;
}

/** Memory immediate; `align` defaults to the instruction's natural alignment. */
export interface MemArg {
  /** Constant byte offset added to the address operand. */
  offset?: number;
  /** log2 of the alignment hint. */
  align?: number;
}

/** Block result type: `void` or a single value type. */
export type BlockType = "void" | ValType;

interface ImmediateArgs {
  none: [];
  block: [BlockType, Label];
  label: [Label];
  func: [FuncRef];
  local: [Local];
  memarg: [MemArg?];
  i32: [number];
  i64: [number | bigint];
  f32: [number];
  lane: [number];
  v128: [Uint8Array];
  shuffle: [readonly number[]];
}

/** Instructions with control-stack effects; only the structured helpers emit them. */
type StructuredOp = "block" | "loop" | "if" | "else" | "end";

/** An instruction the caller may emit directly. */
export type PlainOp = Exclude<OpName, StructuredOp>;

/** One recorded instruction. */
export interface Instruction {
  /** WAT mnemonic. */
  readonly op: OpName;
  /** Immediates, typed by the opcode table entry. */
  readonly imm: readonly unknown[];
}

/** Emits the body of one function; see the module doc. */
export class FunctionEmitter {
  /** Parameters then declared locals, in index order. */
  readonly locals: Local[] = [];
  /** Recorded instructions, without the final `end`. */
  readonly body: Instruction[] = [];
  readonly #labels: Label[] = [];
  #labelCount = 0;

  /** Creates an emitter for a function with the given named parameters. */
  constructor(
    readonly name: string,
    readonly params: readonly (readonly [string, ValType])[],
    readonly results: readonly ValType[],
  ) {
    for (const [pname, type] of params) this.#addLocal(pname, type);
  }

  /** Number of parameters (they occupy the first local indices). */
  get paramCount(): number {
    return this.params.length;
  }

  /** The parameter called `name`. */
  param(name: string): Local {
    const found = this.locals.slice(0, this.params.length).find((l) =>
      l.name === name
    );
    if (!found) {
      throw new Error(`Function ${this.name} has no parameter named ${name}.`);
    }
    return found;
  }

  /** Declares a new local of `type`. */
  local(type: ValType, name: string): Local {
    return this.#addLocal(name, type);
  }

  #addLocal(name: string, type: ValType): Local {
    if (this.locals.some((l) => l.name === name)) {
      throw new Error(
        `Function ${this.name} already has a local named ${name}.`,
      );
    }
    const local = { index: this.locals.length, type, name };
    this.locals.push(local);
    return local;
  }

  /** Appends one instruction with immediates checked against the opcode table. */
  emit<K extends PlainOp>(op: K, ...imm: ImmediateArgs[ImmediateKindOf<K>]) {
    if (op === "br" || op === "br_if") this.#depthOf(imm[0] as Label);
    this.body.push({ op, imm });
    return this;
  }

  /** Emits `block ... end`; a branch to the label exits the block. */
  block(build: (exit: Label) => void, type: BlockType = "void"): void {
    this.#structured("block", type, build);
  }

  /** Emits `loop ... end`; a branch to the label restarts the loop. */
  loop(build: (restart: Label) => void, type: BlockType = "void"): void {
    this.#structured("loop", type, build);
  }

  /** Emits `if ... (else ...) end`, consuming an i32 condition. */
  ifThen(then: (exit: Label) => void, otherwise?: (exit: Label) => void): void {
    const label = this.#newLabel("if");
    this.body.push({ op: "if", imm: ["void", label] });
    this.#labels.push(label);
    then(label);
    if (otherwise) {
      this.body.push({ op: "else", imm: [] });
      otherwise(label);
    }
    this.#labels.pop();
    this.body.push({ op: "end", imm: [] });
  }

  #structured(
    op: "block" | "loop",
    type: BlockType,
    build: (label: Label) => void,
  ): void {
    const label = this.#newLabel(op);
    this.body.push({ op, imm: [type, label] });
    this.#labels.push(label);
    build(label);
    this.#labels.pop();
    this.body.push({ op: "end", imm: [] });
  }

  #newLabel(kind: string): Label {
    return { name: `${kind}${this.#labelCount++}` };
  }

  #depthOf(label: Label): number {
    const at = this.#labels.lastIndexOf(label);
    if (at < 0) {
      throw new Error(
        `Branch to label ${label.name} in ${this.name} is outside its block.`,
      );
    }
    return this.#labels.length - 1 - at;
  }

  /** Encodes locals + body + final `end` (the code-section entry, without its size). */
  encode(): Uint8Array<ArrayBuffer> {
    if (this.#labels.length !== 0) {
      throw new Error(`Function ${this.name} has unclosed blocks.`);
    }
    const out: number[] = [];
    const runs: [number, ValType][] = [];
    for (const l of this.locals.slice(this.params.length)) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l.type) last[0]++;
      else runs.push([1, l.type]);
    }
    out.push(...encodeUnsigned(runs.length));
    for (const [count, type] of runs) {
      out.push(...encodeUnsigned(count), VALTYPE_CODE[type]);
    }
    const depths: Label[] = [];
    for (const ins of this.body) this.#encodeInstruction(ins, out, depths);
    out.push(OPCODES.end.code);
    return Uint8Array.from(out);
  }

  #encodeInstruction(ins: Instruction, out: number[], stack: Label[]): void {
    const info: OpcodeInfo = OPCODES[ins.op];
    if (info.prefix !== undefined) {
      out.push(info.prefix, ...encodeUnsigned(info.code));
    } else out.push(info.code);
    const [first] = ins.imm;
    switch (info.imm) {
      case "none":
        if (ins.op === "end") stack.pop();
        return;
      case "block": {
        const type = first as BlockType;
        out.push(type === "void" ? 0x40 : VALTYPE_CODE[type]);
        stack.push(ins.imm[1] as Label);
        return;
      }
      case "label": {
        const depth = stack.length - 1 - stack.lastIndexOf(first as Label);
        out.push(...encodeUnsigned(depth));
        return;
      }
      case "func":
        out.push(...encodeUnsigned((first as FuncRef).index));
        return;
      case "local":
        out.push(...encodeUnsigned((first as Local).index));
        return;
      case "memarg": {
        const arg = (first ?? {}) as MemArg;
        out.push(...encodeUnsigned(arg.align ?? info.align ?? 0));
        out.push(...encodeUnsigned(arg.offset ?? 0));
        return;
      }
      case "i32":
        out.push(...encodeSigned((first as number) | 0));
        return;
      case "i64":
        out.push(...encodeSigned(BigInt.asIntN(64, BigInt(first as number))));
        return;
      case "f32":
        out.push(
          ...new Uint8Array(Float32Array.of(first as number).buffer),
        );
        return;
      case "lane":
        out.push(first as number);
        return;
      case "v128":
        out.push(...checkedBytes(first as Uint8Array, 256));
        return;
      case "shuffle":
        out.push(...checkedBytes(first as readonly number[], 32));
        return;
    }
  }
}

function checkedBytes(bytes: ArrayLike<number>, limit: number): number[] {
  if (bytes.length !== 16) {
    throw new RangeError(
      `A v128 immediate needs 16 bytes, got ${bytes.length}.`,
    );
  }
  const out = Array.from(bytes);
  if (out.some((b) => !Number.isInteger(b) || b < 0 || b >= limit)) {
    throw new RangeError(
      `v128 immediate bytes must be integers in [0, ${limit}).`,
    );
  }
  return out;
}
