/**
 * The outlier side product of `IntMatMul` (`int_side.ts` on the kernels of
 * `int_side_kernels.ts`) against its definition, written out densely here: Σ = op(X)·op(other)
 * summed exactly, fl32(y + fl32(Σ·scale)) on every output line that some
 * nonzero side value touches, then fl32(· + b) everywhere with a bias — for
 * side streams on A and on B, each operand transposed or not, int8 and
 * int16 values (sums past 2^31), empty streams, every line touched, and
 * lengths that leave vector tails. The engine tests then run whole
 * products through the reference operators.
 */

import assert from "node:assert/strict";
import {
  type SideGeometry,
  SideProduct,
  sideRows,
} from "../../runtime/engine/kernels/int_side.ts";
import { sideKernels } from "../../runtime/engine/kernels/int_side_kernels.ts";

const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536 });
const kernels = await sideKernels({
  shared: false,
  instantiate: async (source) =>
    (await WebAssembly.instantiate(source.bytes, { env: { memory } }))
      .instance.exports,
});

/** A seeded generator of uniform numbers in [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The stored columns of the side operand X. */
const sideCols = (g: SideGeometry) =>
  g.on === "a" ? (g.trans ? g.m : g.k) : (g.trans ? g.k : g.n);

/** One case: geometry, value width, how dense the stream is, and the rest. */
interface Case {
  readonly g: SideGeometry;
  readonly wide: boolean;
  /** Probability that a stored value at a gathered column is nonzero. */
  readonly density: number;
  /** Columns gathered (|C|), at most the side operand's columns. */
  readonly count: number;
  readonly bias: boolean;
  readonly scale: number;
  /** Side values and other-operand mantissas all at their extremes. */
  readonly extreme?: boolean;
}

/** Runs `c` on the kernels and returns [got, want] outputs. */
function run(c: Case, seed: number): [Float32Array, Float32Array] {
  const { g } = c;
  const next = uniform(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo));
  const [rows, cols] = [sideRows(g), sideCols(g)];
  const otherLength = g.on === "a" ? g.k * g.n : g.m * g.k;
  // Odd addresses: the kernels must not rely on alignment.
  let top = 16;
  const alloc = (bytes: number, align: number) => {
    const at = top + align;
    top = Math.ceil((at + bytes) / 16) * 16;
    return at;
  };
  const otherAt = alloc(otherLength, 3);
  const valuesAt = alloc(rows * c.count * 2, c.wide ? 2 : 1);
  const columnsAt = alloc(4 * c.count, 4);
  const yAt = alloc(4 * g.m * g.n, 4);
  const biasAt = alloc(4 * g.n, 8);
  const accAt = alloc(SideProduct.scratchBytes(g), 0);
  const buffer = memory.buffer;
  const other = new Int8Array(buffer, otherAt, otherLength);
  const limit = c.wide ? 32767 : 127;
  for (let i = 0; i < other.length; i++) {
    other[i] = c.extreme ? 127 : int(-127, 128);
  }
  const values = c.wide
    ? new Int16Array(buffer, valuesAt, rows * c.count)
    : new Int8Array(buffer, valuesAt, rows * c.count);
  for (let i = 0; i < values.length; i++) {
    const v = c.extreme ? limit : int(-limit, limit + 1);
    values[i] = next() < c.density ? v : 0;
  }
  const columns = new Int32Array(buffer, columnsAt, c.count);
  const picked = [...Array(cols).keys()].sort(() => next() - 0.5)
    .slice(0, c.count).sort((a, b) => a - b);
  columns.set(picked);
  const y = new Float32Array(buffer, yAt, g.m * g.n);
  for (let i = 0; i < y.length; i++) {
    y[i] = i % 97 === 5 ? -0 : (next() - 0.5) * 2 ** int(-20, 20);
  }
  const bias = new Float32Array(buffer, biasAt, g.n);
  for (let j = 0; j < g.n; j++) bias[j] = (next() - 0.5) * 2 ** int(-20, 20);

  const want = expected(c, other, values, picked, y, bias);
  const product = new SideProduct(g, kernels, accAt);
  const stream = {
    other: otherAt,
    values: c.wide ? new Int16Array(buffer) : new Int8Array(buffer),
    valuesAt: valuesAt / (c.wide ? 2 : 1),
    columns: new Int32Array(buffer),
    columnsAt: columnsAt / 4,
    count: c.count,
  };
  assert.equal(product.touches(stream), values.some((v) => v !== 0));
  // An untouched output takes the bias in the GEMM epilogue, or here.
  if (product.touches(stream)) {
    product.addTo(stream, yAt, c.scale, c.bias ? biasAt : 0);
  } else if (c.bias) kernels.bias(yAt, biasAt, g.m, g.n);
  return [y, want];
}

/** The definition, densely: op(X) and op(other) as full matrices. */
function expected(
  c: Case,
  other: Int8Array,
  values: Int8Array | Int16Array,
  columns: number[],
  y: Float32Array,
  bias: Float32Array,
): Float32Array {
  const { g } = c;
  const [rows, cols] = [sideRows(g), sideCols(g)];
  const x = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    columns.forEach((col, i) => {
      x[r * cols + col] = values[r * columns.length + i];
    });
  }
  // op(X)[i, kk] (side on A) or op(X)[kk, j] (side on B).
  const side = (i: number, j: number) =>
    g.trans ? x[j * cols + i] : x[i * cols + j];
  const opA = (i: number, kk: number) =>
    g.on === "a"
      ? side(i, kk)
      : g.otherTrans
      ? other[kk * g.m + i]
      : other[i * g.k + kk];
  const opB = (kk: number, j: number) =>
    g.on === "b"
      ? side(kk, j)
      : g.otherTrans
      ? other[j * g.k + kk]
      : other[kk * g.n + j];
  const out = Float32Array.from(y);
  for (let i = 0; i < g.m; i++) {
    for (let j = 0; j < g.n; j++) {
      let sum = 0, touched = false;
      for (let kk = 0; kk < g.k; kk++) {
        const s = g.on === "a" ? opA(i, kk) : opB(kk, j);
        touched ||= s !== 0;
        sum += opA(i, kk) * opB(kk, j);
      }
      const o = i * g.n + j;
      if (touched) out[o] = out[o] + Math.fround(sum * c.scale);
      if (c.bias) out[o] = out[o] + bias[j];
    }
  }
  return out;
}

/** Asserts equal bit for bit, −0 included. */
function assertSame(got: Float32Array, want: Float32Array, what: string) {
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
    }
  }
}

const geometries = (m: number, k: number, n: number): SideGeometry[] =>
  (["a", "b"] as const).flatMap((on) =>
    [false, true].flatMap((trans) =>
      [false, true].map((otherTrans) => ({ on, trans, otherTrans, m, k, n }))
    )
  );

for (const [m, k, n] of [[37, 21, 45], [8, 64, 33], [19, 7, 1]]) {
  Deno.test(`side products ${m}×${k}×${n} equal the definition in every layout`, () => {
    let seed = 1;
    for (const g of geometries(m, k, n)) {
      const full = sideCols(g);
      for (const wide of [false, true]) {
        for (const bias of [false, true]) {
          for (
            const [count, density] of [[0, 0], [3, 0], [2, 0.1], [full, 1]]
          ) {
            const c = {
              g,
              wide,
              bias,
              count: Math.min(count, full),
              density,
              scale: 10 * 2 ** -9,
            };
            const [got, want] = run(c, seed++);
            assertSame(got, want, JSON.stringify({ ...c, seed }));
          }
        }
      }
    }
  });
}

Deno.test("side sums past 2^31 stay exact, at scales that round", () => {
  // 1100 terms of 32767·127 in one line: 4.6e9, past any i32.
  const cases: Case[] = [
    {
      g: { on: "a", trans: true, otherTrans: false, m: 5, k: 1100, n: 21 },
      wide: true,
      bias: true,
      count: 2,
      density: 1,
      scale: 2 * 0.3 * 2 ** -7,
      extreme: true,
    },
    {
      g: { on: "b", trans: true, otherTrans: true, m: 18, k: 1100, n: 3 },
      wide: true,
      bias: false,
      count: 1100,
      density: 1,
      scale: 2 * 0.7 * 2 ** -3,
      extreme: true,
    },
    {
      g: { on: "a", trans: false, otherTrans: false, m: 40, k: 600, n: 70 },
      wide: true,
      bias: true,
      count: 600,
      density: 0.9,
      scale: 2 * 1.3 * 2 ** -11,
    },
  ];
  cases.forEach((c, i) => {
    const [got, want] = run(c, 100 + i);
    assertSame(got, want, `case ${i}`);
  });
});
