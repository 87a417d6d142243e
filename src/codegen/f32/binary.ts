/**
 * Elementwise f32 Add, Sub, Mul and Div over n values, `(a, b, y, n)`:
 * - `both`: y[i] = a[i] ∘ b[i] (residuals, gradient accumulation);
 * - `scalar_b`: y[i] = a[i] ∘ b[0] (attention's score scaling);
 * - `scalar_a`: y[i] = a[0] ∘ b[i].
 *
 * IEEE f32 +, −, ×, ÷ are correctly rounded, so each value equals the
 * TypeScript loops' (computed in doubles, rounded once on store: for these
 * four operations double rounding never changes the f32 result). Pointers
 * are byte addresses; y may alias a or b, since each element is read before
 * it is written.
 * @module
 */

import {
  buildKernel,
  type F32Module,
  type GenerateOptions,
  laneLoop,
  load,
  store,
  temp,
} from "./emit.ts";

/** The four operations, by ONNX op name. */
export type BinaryOp = "Add" | "Sub" | "Mul" | "Div";

/** Every binary op. */
export const BINARY_OPS: readonly BinaryOp[] = ["Add", "Sub", "Mul", "Div"];

/** Which operand is a single value read once. */
export type BinaryForm = "both" | "scalar_a" | "scalar_b";

/** Every form. */
export const BINARY_FORMS: readonly BinaryForm[] = [
  "both",
  "scalar_a",
  "scalar_b",
];

/** Signature: `(a, b, y, n)`, byte addresses and the element count. */
export type BinaryKernel = (a: number, b: number, y: number, n: number) => void;

const OPCODE = {
  Add: "f32x4.add",
  Sub: "f32x4.sub",
  Mul: "f32x4.mul",
  Div: "f32x4.div",
} as const;

/** The kernel's name: `binary_<op>_<form>`, e.g. `binary_add_scalar_b`. */
export function binaryKernelName(op: BinaryOp, form: BinaryForm): string {
  return `binary_${op.toLowerCase()}_${form}`;
}

/** Generates `op` in `form`. */
export function generateBinary(
  op: BinaryOp,
  form: BinaryForm,
  options: GenerateOptions = {},
): F32Module<BinaryKernel> {
  return buildKernel<BinaryKernel>(
    binaryKernelName(op, form),
    [["a", "i32"], ["b", "i32"], ["y", "i32"], ["n", "i32"]],
    [],
    options,
    (f) => {
      const [a, b, y] = ["a", "b", "y"].map((n) => f.param(n));
      const off = temp(f, "i32", "off");
      const bytes = temp(f, "i32", "bytes");
      const splat = temp(f, "v128", "splat");
      const scalar = form === "scalar_a" ? a : form === "scalar_b" ? b : null;
      if (scalar !== null) {
        f.emit("local.get", scalar).emit("v128.load32_splat")
          .emit("local.set", splat);
      }
      f.emit("local.get", f.param("n")).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", bytes);
      laneLoop(f, off, bytes, (lanes) => {
        store(f, lanes, y, off, () => {
          for (const operand of [a, b]) {
            if (operand === scalar) f.emit("local.get", splat);
            else load(f, lanes, operand, off);
          }
          f.emit(OPCODE[op]);
        });
      });
    },
  );
}
