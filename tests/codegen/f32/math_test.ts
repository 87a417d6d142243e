import assert from "node:assert/strict";
import {
  buildKernel,
  emitExp,
  emitLog,
  generateActivation,
  laneLoop,
  load,
  store,
  temp,
} from "../../../src/codegen/f32/mod.ts";
import type { FunctionEmitter, Local } from "../../../src/codegen/wasm/mod.ts";
import { erf } from "../../../src/ops/erf.ts";
import { arena, maxRelErr, maxUlpErr, ulp } from "./helpers.ts";

type Unary = (x: number, y: number, n: number) => void;

/** A test-only module mapping an emitter over n elements. */
function unaryModule(
  name: string,
  emit: (f: FunctionEmitter, v: Local) => void,
) {
  return buildKernel<Unary>(
    name,
    [["x", "i32"], ["y", "i32"], ["n", "i32"]],
    [],
    {},
    (f) => {
      const off = temp(f, "i32", "off");
      const bytes = temp(f, "i32", "bytes");
      const v = temp(f, "v128", "v");
      f.emit("local.get", f.param("n")).emit("i32.const", 2).emit("i32.shl")
        .emit("local.set", bytes);
      laneLoop(f, off, bytes, (lanes) => {
        load(f, lanes, f.param("x"), off);
        f.emit("local.set", v);
        store(f, lanes, f.param("y"), off, () => emit(f, v));
      });
    },
  );
}

/** Runs a unary kernel on `xs` (rounded to f32), returning f32 outputs. */
async function apply(
  mod: { instantiate(m: WebAssembly.Memory): Promise<Unary> },
  xs: ArrayLike<number>,
): Promise<Float32Array> {
  const a = arena();
  const run = await mod.instantiate(a.memory);
  const x = a.f32(xs);
  const y = a.alloc(xs.length * 4);
  run(x, y, xs.length);
  return a.readF32(y, xs.length);
}

const grid = (lo: number, hi: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => lo + (hi - lo) * i / (n - 1));

Deno.test("exp: ≤ 1 ulp on [-87, 88], 0 below -87 and for -inf", async () => {
  const xs = grid(-87, 88, 200_003);
  const got = await apply(unaryModule("exp", emitExp), xs);
  const err = maxUlpErr(got, Array.from(xs, Math.exp));
  assert.ok(err <= 1, `exp error ${err} ulp`);
  const edge = await apply(unaryModule("exp", emitExp), [
    -87.5,
    -1e4,
    -Infinity,
    0,
    -0,
  ]);
  assert.deepEqual(Array.from(edge), [0, 0, 0, 1, 1]);
});

Deno.test("log: ≤ 1 ulp on positive normal inputs", async () => {
  const xs = Float32Array.from(
    { length: 100_000 },
    (_, i) => Math.exp(-80 + 160 * i / 99_999),
  );
  const near1 = grid(1, 64, 50_000);
  for (const set of [xs, near1]) {
    const got = await apply(unaryModule("log", emitLog), set);
    const err = maxUlpErr(got, Array.from(set, Math.log));
    assert.ok(err <= 1, `log error ${err} ulp`);
  }
});

Deno.test("erf: ≤ 1.2 ulp against src/ops/erf.ts on [-10, 10]", async () => {
  const xs = grid(-10, 10, 400_001);
  const got = await apply(generateActivation("erf"), xs);
  const want = Array.from(xs, erf);
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const e = Math.abs(got[i] - want[i]) / ulp(want[i]);
    worst = Math.max(worst, e);
  }
  assert.ok(worst <= 1.2, `erf error ${worst} ulp`);
  const tiny = grid(-1e-3, 1e-3, 10_001);
  const gotTiny = await apply(generateActivation("erf"), tiny);
  const errTiny = maxUlpErr(gotTiny, Array.from(tiny, erf));
  assert.ok(errTiny <= 1, `erf error near 0: ${errTiny} ulp`);
  const edge = await apply(generateActivation("erf"), [-Infinity, Infinity, 0]);
  assert.deepEqual(Array.from(edge), [-1, 1, 0]);
});

Deno.test("tanh: ≤ 1.5 ulp", async () => {
  const xs = grid(-12, 12, 400_001);
  const got = await apply(generateActivation("tanh_fwd"), xs);
  const err = maxUlpErr(got, Array.from(xs, Math.tanh));
  assert.ok(err <= 1.5, `tanh error ${err} ulp`);
  const tiny = grid(-1e-4, 1e-4, 1001);
  const gotTiny = await apply(generateActivation("tanh_fwd"), tiny);
  assert.ok(maxRelErr(gotTiny, Array.from(tiny, Math.tanh)) <= 2 ** -23);
});
