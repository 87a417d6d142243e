/**
 * Elementwise activations over n f32 values, forward and backward:
 * - `erf(x, y, n)`: y = erf(x) (the ONNX Erf op, before GELU fusion).
 * - `gelu_fwd(x, y, n)`: y = x·Φ(x), the exact (erf) GELU of BERT.
 * - `gelu_bwd(x, dy, dx, n)`: dx = dy·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π).
 * - `tanh_fwd(x, y, n)`: y = tanh(x) (the pooler).
 * - `tanh_bwd(y, dy, dx, n)`: dx = dy·(1 − y²), from the saved output.
 *
 * Pointers are byte addresses of f32 arrays of n elements; in-place (y = x,
 * dx = dy) is allowed since each element is read before it is written.
 * @module
 */

import type { FunctionEmitter, Local } from "../wasm/mod.ts";
import {
  buildKernel,
  type F32Module,
  f32x4Const,
  type GenerateOptions,
  laneLoop,
  load,
  store,
  temp,
} from "./emit.ts";
import { emitErf, emitExpMinusSquare, emitPhi, emitTanh } from "./math.ts";

/** The activation kernels, by name. */
export type ActivationKernel =
  | "erf"
  | "gelu_fwd"
  | "gelu_bwd"
  | "tanh_fwd"
  | "tanh_bwd";

/** Every activation kernel name. */
export const ACTIVATION_KERNELS: readonly ActivationKernel[] = [
  "erf",
  "gelu_fwd",
  "gelu_bwd",
  "tanh_fwd",
  "tanh_bwd",
];

/** Signature of the forward kernels: `(x, y, n)`. */
export type ActivationFwd = (x: number, y: number, n: number) => void;

/** Signature of the backward kernels: `(saved, dy, dx, n)`, saved = x or y. */
export type ActivationBwd = (
  saved: number,
  dy: number,
  dx: number,
  n: number,
) => void;

const INV_SQRT_2PI = 0.3989422804014327;

/** Pushes f(v) for the v128 local v. */
type Body = (f: FunctionEmitter, v: Local) => void;

const FORWARD: Record<"erf" | "gelu_fwd" | "tanh_fwd", Body> = {
  erf: emitErf,
  gelu_fwd: (f, x) => {
    emitPhi(f, x);
    f.emit("local.get", x).emit("f32x4.mul");
  },
  tanh_fwd: emitTanh,
};

/** Pushes the local derivative, to be multiplied by dy. */
const DERIVATIVE: Record<"gelu_bwd" | "tanh_bwd", Body> = {
  gelu_bwd: (f, x) => {
    emitPhi(f, x);
    emitExpMinusSquare(f, x, 0.5);
    f32x4Const(f, INV_SQRT_2PI);
    f.emit("f32x4.mul").emit("local.get", x).emit("f32x4.mul")
      .emit("f32x4.add");
  },
  tanh_bwd: (f, y) => {
    f32x4Const(f, 1);
    f.emit("local.get", y).emit("local.get", y).emit("f32x4.mul")
      .emit("f32x4.sub");
  },
};

/** Generates the forward activation `kernel`. */
export function generateActivation(
  kernel: "erf" | "gelu_fwd" | "tanh_fwd",
  options?: GenerateOptions,
): F32Module<ActivationFwd>;
/** Generates the backward activation `kernel`. */
export function generateActivation(
  kernel: "gelu_bwd" | "tanh_bwd",
  options?: GenerateOptions,
): F32Module<ActivationBwd>;
/** Generates an activation kernel. */
export function generateActivation(
  kernel: ActivationKernel,
  options?: GenerateOptions,
): F32Module<ActivationFwd | ActivationBwd>;
export function generateActivation(
  kernel: ActivationKernel,
  options: GenerateOptions = {},
): F32Module<ActivationFwd | ActivationBwd> {
  if (kernel === "gelu_bwd" || kernel === "tanh_bwd") {
    const derivative = DERIVATIVE[kernel];
    return buildKernel<ActivationBwd>(
      kernel,
      [["saved", "i32"], ["dy", "i32"], ["dx", "i32"], ["n", "i32"]],
      [],
      options,
      (f) => {
        const [saved, dy, dx] = ["saved", "dy", "dx"].map((n) => f.param(n));
        elementwise(f, (lanes, v) => {
          load(f, lanes, saved, v.off);
          f.emit("local.set", v.value);
          store(f, lanes, dx, v.off, () => {
            derivative(f, v.value);
            load(f, lanes, dy, v.off);
            f.emit("f32x4.mul");
          });
        });
      },
    );
  }
  const forward = FORWARD[kernel];
  return buildKernel<ActivationFwd>(
    kernel,
    [["x", "i32"], ["y", "i32"], ["n", "i32"]],
    [],
    options,
    (f) => {
      const [x, y] = ["x", "y"].map((n) => f.param(n));
      elementwise(f, (lanes, v) => {
        load(f, lanes, x, v.off);
        f.emit("local.set", v.value);
        store(f, lanes, y, v.off, () => forward(f, v.value));
      });
    },
  );
}

/** Runs `body` over the n elements, with the byte offset and a v128 scratch. */
function elementwise(
  f: FunctionEmitter,
  body: (lanes: 4 | 1, v: { off: Local; value: Local }) => void,
): void {
  const off = temp(f, "i32", "off");
  const bytes = temp(f, "i32", "bytes");
  const value = temp(f, "v128", "v");
  f.emit("local.get", f.param("n")).emit("i32.const", 2).emit("i32.shl")
    .emit("local.set", bytes);
  laneLoop(f, off, bytes, (lanes) => body(lanes, { off, value }));
}
