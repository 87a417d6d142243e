/**
 * The opcode table: every WebAssembly instruction the kernel generators use,
 * keyed by its WAT mnemonic, with its binary encoding and the kind of
 * immediates that follow it. The function emitter is typed against this table,
 * so an instruction with the wrong immediates does not compile.
 *
 * Encodings follow the WebAssembly core spec 2.0, the fixed-width SIMD proposal
 * (prefix 0xFD) and the relaxed-SIMD proposal (prefix 0xFD, sub-opcodes 0x100+).
 * @module
 */

/** What follows an opcode in the binary (and after the mnemonic in a listing). */
export type ImmediateKind =
  | "none"
  | "block" // block type
  | "label" // branch depth
  | "func" // function index
  | "local" // local index
  | "memarg" // alignment + offset
  | "i32"
  | "i64"
  | "f32"
  | "lane" // one lane index byte
  | "v128" // 16 literal bytes
  | "shuffle"; // 16 lane index bytes

/** One opcode table entry. */
export interface OpcodeInfo {
  /** `undefined` for single-byte core opcodes, else the prefix byte (0xFD for SIMD). */
  readonly prefix?: number;
  /** The opcode byte, or the LEB128-encoded sub-opcode after a prefix. */
  readonly code: number;
  /** Immediate kind. */
  readonly imm: ImmediateKind;
  /** log2 of the natural alignment, for memory instructions. */
  readonly align?: number;
  /** Which proposal the instruction belongs to; relaxed ones need feature detection. */
  readonly feature?: "simd" | "relaxed-simd";
}

const core = (code: number, imm: ImmediateKind = "none"): OpcodeInfo => ({
  code,
  imm,
});
const mem = (code: number, align: number): OpcodeInfo => ({
  code,
  imm: "memarg",
  align,
});
const simd = (code: number, imm: ImmediateKind = "none"): OpcodeInfo => ({
  prefix: 0xfd,
  code,
  imm,
  feature: "simd",
});
const simdMem = (code: number, align: number): OpcodeInfo => ({
  prefix: 0xfd,
  code,
  imm: "memarg",
  align,
  feature: "simd",
});
const relaxed = (code: number): OpcodeInfo => ({
  prefix: 0xfd,
  code,
  imm: "none",
  feature: "relaxed-simd",
});

/** The opcode table, keyed by WAT mnemonic. */
export const OPCODES = {
  "unreachable": core(0x00),
  "nop": core(0x01),
  "block": core(0x02, "block"),
  "loop": core(0x03, "block"),
  "if": core(0x04, "block"),
  "else": core(0x05),
  "end": core(0x0b),
  "br": core(0x0c, "label"),
  "br_if": core(0x0d, "label"),
  "return": core(0x0f),
  "call": core(0x10, "func"),
  "drop": core(0x1a),
  "select": core(0x1b),
  "local.get": core(0x20, "local"),
  "local.set": core(0x21, "local"),
  "local.tee": core(0x22, "local"),

  "i32.load": mem(0x28, 2),
  "f32.load": mem(0x2a, 2),
  "i32.load8_s": mem(0x2c, 0),
  "i32.load8_u": mem(0x2d, 0),
  "i32.load16_s": mem(0x2e, 1),
  "i32.load16_u": mem(0x2f, 1),
  "i32.store": mem(0x36, 2),
  "f32.store": mem(0x38, 2),
  "f64.load": mem(0x2b, 3),
  "f64.store": mem(0x39, 3),
  "i32.store8": mem(0x3a, 0),
  "i32.store16": mem(0x3b, 1),

  "i32.const": core(0x41, "i32"),
  "i64.const": core(0x42, "i64"),
  "f32.const": core(0x43, "f32"),

  "i32.eqz": core(0x45),
  "i32.eq": core(0x46),
  "i32.ne": core(0x47),
  "i32.lt_s": core(0x48),
  "i32.lt_u": core(0x49),
  "i32.gt_s": core(0x4a),
  "i32.gt_u": core(0x4b),
  "i32.le_s": core(0x4c),
  "i32.le_u": core(0x4d),
  "i32.ge_s": core(0x4e),
  "i32.ge_u": core(0x4f),
  "i32.add": core(0x6a),
  "i32.sub": core(0x6b),
  "i32.mul": core(0x6c),
  "i32.div_u": core(0x6e),
  "i32.rem_u": core(0x70),
  "i32.and": core(0x71),
  "i32.or": core(0x72),
  "i32.xor": core(0x73),
  "i32.shl": core(0x74),
  "i32.shr_s": core(0x75),
  "i32.shr_u": core(0x76),
  "f32.add": core(0x92),
  "f32.mul": core(0x94),
  "f32.convert_i32_s": core(0xb2),
  // Used by the f32 kernels (src/codegen/f32).
  "f32.eq": core(0x5b),
  "f32.sqrt": core(0x91),
  "f32.sub": core(0x93),
  "f32.div": core(0x95),
  "f32.max": core(0x97),
  "f64.sqrt": core(0x9f),
  "f64.add": core(0xa0),
  "f64.sub": core(0xa1),
  "f64.mul": core(0xa2),
  "f64.div": core(0xa3),
  "f32.demote_f64": core(0xb6),
  "f64.convert_i32_s": core(0xb7),

  "v128.load": simdMem(0x00, 4),
  "i16x8.load8x8_s": simdMem(0x01, 3),
  "v128.load32_splat": simdMem(0x09, 2),
  "v128.load64_splat": simdMem(0x0a, 3),
  "v128.store": simdMem(0x0b, 4),
  "v128.const": simd(0x0c, "v128"),
  "i8x16.shuffle": simd(0x0d, "shuffle"),
  "i8x16.splat": simd(0x0f),
  "i16x8.splat": simd(0x10),
  "i32x4.splat": simd(0x11),
  "f32x4.splat": simd(0x13),
  "i32x4.extract_lane": simd(0x1b, "lane"),
  "f32x4.extract_lane": simd(0x1f, "lane"),
  "v128.and": simd(0x4e),
  "v128.or": simd(0x50),
  "v128.xor": simd(0x51),
  "i16x8.extadd_pairwise_i8x16_s": simd(0x7c),
  "i32x4.extadd_pairwise_i16x8_s": simd(0x7e),
  "i16x8.extend_low_i8x16_s": simd(0x87),
  "i16x8.extend_high_i8x16_s": simd(0x88),
  "i16x8.add": simd(0x8e),
  "i32x4.add": simd(0xae),
  "i32x4.sub": simd(0xb1),
  "i32x4.mul": simd(0xb5),
  "i32x4.dot_i16x8_s": simd(0xba),
  "f32x4.add": simd(0xe4),
  // Used by the quantized linear's dequantising pass (src/codegen/quantized).
  "f64x2.splat": simd(0x14),
  "f64x2.add": simd(0xf0),
  "f64x2.mul": simd(0xf2),
  "f64x2.convert_low_i32x4_s": simd(0xfe),
  "f32x4.demote_f64x2_zero": simd(0x5e),
  "v128.load64_zero": simdMem(0x5d, 3),
  // Used by the gradient-norm kernel (src/codegen/f32/grad_norm.ts).
  "f64x2.promote_low_f32x4": simd(0x5f),
  "f64x2.extract_lane": simd(0x21, "lane"),
  "f32x4.mul": simd(0xe6),
  "f32x4.convert_i32x4_s": simd(0xfa),
  // Used by the f32 LayerNorm/softmax/activation/loss/AdamW kernels (src/codegen/f32).
  "i32x4.eq": simd(0x37),
  "f32x4.gt": simd(0x44),
  "v128.andnot": simd(0x4f),
  "v128.bitselect": simd(0x52),
  "i32x4.shl": simd(0xab),
  "i32x4.shr_s": simd(0xac),
  "f32x4.sqrt": simd(0xe3),
  "f32x4.div": simd(0xe7),
  "f32x4.min": simd(0xe8),
  // Used by the BFP map/unmap and outlier split kernels (src/codegen/bfp, outlier).
  "i32x4.load16x4_s": simdMem(0x03, 3),
  "f32x4.lt": simd(0x43),
  "f32x4.le": simd(0x45),
  "f32x4.ge": simd(0x46),
  "i8x16.narrow_i16x8_s": simd(0x65),
  "f32x4.floor": simd(0x68),
  "f32x4.nearest": simd(0x6a),
  "i16x8.narrow_i32x4_s": simd(0x85),
  "i32x4.all_true": simd(0xa3),
  "i32x4.extend_low_i16x8_s": simd(0xa7),
  "i32x4.extend_high_i16x8_s": simd(0xa8),
  "i32x4.shr_u": simd(0xad),
  "i32x4.min_s": simd(0xb6),
  "i32x4.max_s": simd(0xb8),
  "f32x4.abs": simd(0xe0),
  "f32x4.sub": simd(0xe5),
  "f32x4.max": simd(0xe9),
  "i32x4.trunc_sat_f32x4_s": simd(0xf8),
  // Used by the dropout kernels (src/codegen/f32/dropout.ts).
  "v128.load32_zero": simdMem(0x5c, 2),
  "i32x4.ge_u": simd(0x40),
  "i16x8.extend_low_i8x16_u": simd(0x89),
  "i32x4.extend_low_i16x8_u": simd(0xa9),
  "f64x2.div": simd(0xf3),

  "f32x4.relaxed_madd": relaxed(0x105),
  "i16x8.relaxed_dot_i8x16_i7x16_s": relaxed(0x112),
  "i32x4.relaxed_dot_i8x16_i7x16_add_s": relaxed(0x113),
} as const satisfies Record<string, OpcodeInfo>;

/** A WAT mnemonic present in the opcode table. */
export type OpName = keyof typeof OPCODES;

/** The immediate kind of instruction `K`. */
export type ImmediateKindOf<K extends OpName> = (typeof OPCODES)[K]["imm"];
