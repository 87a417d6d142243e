/**
 * A readable WAT-like listing of one generated function, for `--dump-kernels`
 * and for reading what a generator produced. It prints from the same
 * instruction records the encoder uses, so the listing cannot drift from the
 * binary.
 * @module
 */

import type {
  BlockType,
  FuncRef,
  FunctionEmitter,
  Instruction,
  Label,
  Local,
  MemArg,
} from "./function_emitter.ts";
import { type OpcodeInfo, OPCODES } from "./opcodes.ts";

/** Renders `fn` as WAT-like text, one instruction a line, indented by nesting. */
export function listFunction(fn: FunctionEmitter): string {
  const head = [`(func $${fn.name}`];
  for (const p of fn.locals.slice(0, fn.paramCount)) {
    head.push(`(param $${p.name} ${p.type})`);
  }
  if (fn.results.length > 0) head.push(`(result ${fn.results.join(" ")})`);
  const lines = [head.join(" ")];
  for (const l of fn.locals.slice(fn.paramCount)) {
    lines.push(`  (local $${l.name} ${l.type})`);
  }
  let depth = 1;
  for (const ins of fn.body) {
    if (ins.op === "end" || ins.op === "else") depth--;
    lines.push(`${"  ".repeat(depth)}${formatInstruction(ins)}`);
    if (
      ins.op === "block" || ins.op === "loop" || ins.op === "if" ||
      ins.op === "else"
    ) depth++;
  }
  lines.push(")");
  return lines.join("\n");
}

/** Formats one instruction as `mnemonic immediates`. */
export function formatInstruction(ins: Instruction): string {
  const info: OpcodeInfo = OPCODES[ins.op];
  const [first] = ins.imm;
  const text = (() => {
    switch (info.imm) {
      case "none":
        return "";
      case "block": {
        const type = first as BlockType;
        const label = `$${(ins.imm[1] as Label).name}`;
        return type === "void" ? label : `${label} (result ${type})`;
      }
      case "label":
        return `$${(first as Label).name}`;
      case "func":
        return `$${(first as FuncRef).name}`;
      case "local":
        return `$${(first as Local).name}`;
      case "memarg": {
        const arg = (first ?? {}) as MemArg;
        const parts = [];
        if (arg.offset) parts.push(`offset=${arg.offset}`);
        if (arg.align !== undefined && arg.align !== info.align) {
          parts.push(`align=${2 ** arg.align}`);
        }
        return parts.join(" ");
      }
      case "i32":
      case "i64":
      case "f32":
      case "lane":
        return String(first);
      case "v128":
        return `i8x16 ${Array.from(first as Uint8Array).join(" ")}`;
      case "shuffle":
        return (first as number[]).join(" ");
    }
  })();
  return text ? `${ins.op} ${text}` : ins.op;
}
