import assert from "node:assert/strict";
import {
  type Label,
  listFunction,
  ModuleBuilder,
  type OpcodeInfo,
  OPCODES,
} from "../../../src/codegen/wasm/mod.ts";

Deno.test("builder emits a valid module with imports, locals, loops and exports", async () => {
  const mb = new ModuleBuilder();
  const log = mb.importFunction("env", "log", ["i32"], []);
  mb.importMemory("env", "memory", { initial: 1, maximum: 4, shared: true });
  // sum of i32 values in memory[ptr .. ptr + 4n)
  const sum = mb.addFunction(
    "sum",
    [["ptr", "i32"], ["n", "i32"]],
    ["i32"],
    (f) => {
      const ptr = f.param("ptr");
      const n = f.param("n");
      const acc = f.local("i32", "acc");
      f.block((done) => {
        f.emit("local.get", n).emit("i32.eqz").emit("br_if", done);
        f.loop((next) => {
          f.emit("local.get", acc).emit("local.get", ptr).emit("i32.load")
            .emit("i32.add").emit("local.set", acc);
          f.emit("local.get", ptr).emit("i32.const", 4).emit("i32.add")
            .emit("local.set", ptr);
          f.emit("local.get", n).emit("i32.const", 1).emit("i32.sub")
            .emit("local.tee", n).emit("br_if", next);
        });
      });
      f.emit("local.get", acc).emit("call", log);
      f.emit("local.get", acc);
    },
  );
  mb.exportFunction("sum", sum);
  const bytes = mb.encode();
  assert.ok(WebAssembly.validate(bytes));

  const memory = new WebAssembly.Memory({
    initial: 1,
    maximum: 4,
    shared: true,
  });
  new Int32Array(memory.buffer).set([5, -7, 100], 2);
  const logged: number[] = [];
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { memory, log: (v: number) => logged.push(v) },
  });
  const run = instance.exports.sum as (p: number, n: number) => number;
  assert.equal(run(8, 3), 98);
  assert.equal(run(8, 0), 0);
  assert.deepEqual(logged, [98, 0]);

  const text = listFunction(mb.emitterOf(sum));
  assert.match(
    text,
    /^\(func \$sum \(param \$ptr i32\) \(param \$n i32\) \(result i32\)/,
  );
  assert.ok(text.includes("\n  (local $acc i32)\n"));
  assert.ok(text.includes("\n      br_if $loop1\n"));
  assert.ok(text.includes("\n  call $env.log\n"));
});

Deno.test("builder encodes SIMD immediates: v128.const, shuffle, lanes, memarg offsets", async () => {
  const mb = new ModuleBuilder();
  mb.defineMemory({ initial: 1 });
  mb.exportMemory("memory");
  const fn = mb.addFunction("simd", [["p", "i32"]], ["i32"], (f) => {
    const p = f.param("p");
    const bytes = new Uint8Array(16).map((_, i) => i + 1);
    f.emit("local.get", p).emit("v128.const", bytes).emit("v128.store", {
      offset: 16,
    });
    // reverse the 4 i32 lanes, add to the original, take lane 0
    f.emit("local.get", p).emit("v128.load", { offset: 16 });
    f.emit("local.get", p).emit("v128.load", { offset: 16, align: 2 });
    f.emit("local.get", p).emit("v128.load", { offset: 16 });
    f.emit("i8x16.shuffle", [
      12,
      13,
      14,
      15,
      8,
      9,
      10,
      11,
      4,
      5,
      6,
      7,
      0,
      1,
      2,
      3,
    ]);
    f.emit("i32x4.add").emit("i32x4.extract_lane", 0);
  });
  mb.exportFunction("simd", fn);
  const bytes = mb.encode();
  assert.ok(WebAssembly.validate(bytes));
  const { instance } = await WebAssembly.instantiate(bytes);
  const lanes = new Int32Array(new Uint8Array(16).map((_, i) => i + 1).buffer);
  assert.equal(
    (instance.exports.simd as (p: number) => number)(0),
    lanes[0] + lanes[3],
  );
  assert.match(
    listFunction(mb.emitterOf(fn)),
    /v128\.load offset=16 align=4\n/,
  );
});

Deno.test("builder rejects misuse with clear errors", () => {
  const mb = new ModuleBuilder();
  assert.throws(
    () => mb.importMemory("e", "m", { initial: 1, shared: true }),
    /maximum/,
  );
  mb.defineMemory({ initial: 1 });
  assert.throws(() => mb.defineMemory({ initial: 1 }), /already has a memory/);
  mb.addFunction("f", [], [], () => {});
  assert.throws(
    () => mb.importFunction("e", "g", [], []),
    /import functions first/,
  );
  assert.throws(
    () =>
      mb.addFunction("g", [], [], (f) => {
        let outer: Label | undefined;
        f.block((l) => (outer = l));
        f.emit("br", outer!);
      }),
    /outside its block/,
  );
  assert.throws(
    () => mb.addFunction("h", [["x", "i32"]], [], (f) => f.local("i32", "x")),
    /already has a local/,
  );
});

Deno.test("opcode table has unique encodings and a mnemonic per entry", () => {
  const seen = new Map<string, string>();
  for (
    const [name, info] of Object.entries(OPCODES) as [string, OpcodeInfo][]
  ) {
    const key = `${info.prefix ?? ""}:${info.code}`;
    assert.equal(
      seen.get(key),
      undefined,
      `${name} collides with ${seen.get(key)}`,
    );
    seen.set(key, name);
    assert.match(name, /^[a-z0-9_.]+$/);
  }
});
