import assert from "node:assert/strict";
import {
  BINARY_FORMS,
  BINARY_OPS,
  binaryRef,
  generateBinary,
  SWEEP_SIZES,
} from "../../../src/codegen/f32/mod.ts";
import { arena, seeded, uniform } from "./helpers.ts";

/** Values where rounding, signs and IEEE special cases show. */
const SPECIAL = [
  0,
  -0,
  1,
  -1,
  3e-39,
  -1e-45,
  3.4e38,
  -3.4e38,
  Infinity,
  -Infinity,
  NaN,
  1 / 3,
];

/** Index of the first element that differs bitwise (any NaN equals any NaN), or -1. */
function firstDifference(got: Float32Array, want: Float32Array): number {
  return want.findIndex((w, i) =>
    !(Object.is(got[i], w) || (Number.isNaN(got[i]) && Number.isNaN(w)))
  );
}

for (const op of BINARY_OPS) {
  Deno.test(`binary ${op}: every form equals the scalar definition bit for bit, tails and IEEE cases included`, async () => {
    const a = arena();
    const rand = seeded(op.length * 31);
    for (const form of BINARY_FORMS) {
      const kernel = await generateBinary(op, form).instantiate(a.memory);
      for (const n of [...SWEEP_SIZES, SPECIAL.length * SPECIAL.length]) {
        // Wide exponents, so a wrong rounding would show in the last bit.
        const x = uniform(n, rand, -4, 4).map((v, i) =>
          v * 2 ** ((i % 11) - 5)
        );
        const z = uniform(n, rand, -4, 4);
        if (n === SPECIAL.length ** 2) {
          x.forEach((_, i) => x[i] = SPECIAL[i % SPECIAL.length]);
          z.forEach((_, i) => z[i] = SPECIAL[Math.floor(i / SPECIAL.length)]);
        }
        for (const scalar of form === "both" ? [0] : [0, 5, 10]) {
          const [xa, za] = [Float32Array.from(x), Float32Array.from(z)];
          if (form === "scalar_a") xa[0] = SPECIAL[scalar] ?? x[0];
          if (form === "scalar_b") za[0] = SPECIAL[scalar] ?? z[0];
          const [pa, pb] = [a.f32(xa), a.f32(za)];
          const y = a.alloc(4 * Math.max(n, 1));
          kernel(pa, pb, y, n);
          const want = binaryRef(op, form, xa, za);
          const at = firstDifference(a.readF32(y, n), want);
          assert.equal(at, -1, `${form} n=${n}: element ${at}`);
          // In place over a streamed operand: each element is read first.
          const inPlace = form === "scalar_a" ? pb : pa;
          kernel(pa, pb, inPlace, n);
          assert.equal(firstDifference(a.readF32(inPlace, n), want), -1);
        }
      }
    }
  });
}
