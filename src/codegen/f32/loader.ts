/**
 * Loads generated f32 kernels over a caller's `WebAssembly.Memory`, and a bump
 * arena that places typed arrays in that memory (for tests and benchmarks;
 * the runtime plans its own arena at compile time).
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 });
 * const gelu = await generateActivation("gelu_fwd").instantiate(memory);
 * const arena = new Arena(memory);
 * const x = arena.f32(Float32Array.of(-1, 0, 1));
 * const y = arena.alloc(12);
 * gelu(x, y, 3);
 * arena.view(Float32Array, y, 3); // [-0.1587, 0, 0.8413]
 * ```
 * @module
 */

/** Any exported kernel: numbers in, an optional number out. */
export type KernelFn = (...args: never[]) => number | void;

/** Compiles `bytes`, instantiates it over `memory` and returns its export `name`. */
export async function instantiateKernel<F extends KernelFn>(
  bytes: Uint8Array<ArrayBuffer>,
  name: string,
  memory: WebAssembly.Memory,
): Promise<F> {
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { memory },
  });
  const fn = instance.exports[name];
  if (typeof fn !== "function") {
    throw new Error(
      `Kernel module ${name} does not export a function ${name}.`,
    );
  }
  return fn as F;
}

const PAGE = 65536;

/** A bump allocator over a memory; addresses are 16-byte aligned, never 0. */
export class Arena {
  #top = 16;

  /** Allocates from `memory`, growing it when needed. */
  constructor(readonly memory: WebAssembly.Memory) {}

  /** Reserves `bytes` bytes and returns their address. */
  alloc(bytes: number): number {
    const at = this.#top;
    this.#top = Math.ceil((at + bytes) / 16) * 16;
    const missing = this.#top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    return at;
  }

  /** Copies `data` into the arena and returns its address. */
  f32(data: ArrayLike<number>): number {
    const at = this.alloc(data.length * 4);
    this.view(Float32Array, at, data.length).set(data);
    return at;
  }

  /** Copies `data` as i32 into the arena and returns its address. */
  i32(data: ArrayLike<number>): number {
    const at = this.alloc(data.length * 4);
    this.view(Int32Array, at, data.length).set(data);
    return at;
  }

  /** A fresh view (views detach when memory grows, so never keep one). */
  view<T extends Float32Array | Int32Array>(
    type: { new (buffer: ArrayBuffer, offset: number, length: number): T },
    at: number,
    length: number,
  ): T {
    return new type(this.memory.buffer as ArrayBuffer, at, length);
  }

  /** A copy of `length` f32 values at `at`. */
  readF32(at: number, length: number): Float32Array {
    return this.view(Float32Array, at, length).slice();
  }
}
