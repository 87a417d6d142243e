/**
 * The typed WebAssembly module builder: LEB128, the opcode table, a function
 * body emitter, the module assembler and a WAT-like listing.
 * @module
 */

export * from "./leb128.ts";
export * from "./opcodes.ts";
export * from "./function_emitter.ts";
export * from "./module_builder.ts";
export * from "./listing.ts";
