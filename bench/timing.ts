/**
 * What the benchmarks share: a median wall time after a warm-up call, and
 * IR feeds as ONNX Runtime tensors.
 *
 * @module
 */

import type * as ortWeb from "onnxruntime-web";
import type { Tensor } from "../src/ir/tensor.ts";

/** Median wall time in ms of `runs` calls of `run`, after one warm-up call. */
export async function medianMs(
  run: () => unknown,
  runs: number,
): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const ORT_TYPES: Record<string, "int64" | "int32" | "float32"> = {
  i64: "int64",
  i32: "int32",
  f32: "float32",
};

/** Feeds as ONNX Runtime tensors of the package `ort` (web or node). */
export function ortFeeds(
  ort: typeof ortWeb,
  feeds: ReadonlyMap<string, Tensor>,
): Record<string, ortWeb.Tensor> {
  return Object.fromEntries([...feeds].map(([name, t]) => {
    const data = t.dtype === "i64"
      ? BigInt64Array.from(t.data, (v) => BigInt(v))
      : t.data;
    return [
      name,
      new ort.Tensor(ORT_TYPES[t.dtype], data as BigInt64Array, [...t.shape]),
    ];
  }));
}
