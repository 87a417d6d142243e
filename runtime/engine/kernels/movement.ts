/**
 * Data-movement kernels: Transpose (planned in `transpose.ts`), Gather,
 * Concat, and the slicing family (Slice, Split, Expand, SliceGrad) through
 * index maps computed once at create time, plus Shape and Size, whose
 * outputs the static shapes fix.
 *
 * @module
 */

import { sizeOf, type Tensor, tensor } from "../../../src/ir/tensor.ts";
import { intAttr, intsAttr } from "../../../src/ir/graph.ts";
import { getOp } from "../../../src/ops/mod.ts";
import { EngineError } from "../errors.ts";
import { generateGatherRows } from "../../../src/codegen/f32/mod.ts";
import { BYTES_PER_ELEMENT } from "../../../src/ir/dtype.ts";
import { loadSplit } from "./generated.ts";
import { contiguousRows, transposeStep } from "./transpose.ts";
import type { Kernel, KernelTable, NodeInfo, Step } from "./types.ts";

const rank = (info: NodeInfo) => info.inputs[0]?.shape.length ?? 0;
const axisOf = (info: NodeInfo, fallback: number) => {
  const a = intAttr(info.node.attrs, "axis", fallback);
  return a < 0 ? a + rank(info) : a;
};

/**
 * Rows at least this long go to the generated row gather: shorter ones
 * spend more on the per-row index arithmetic than a vector copy saves.
 */
const GATHER_MIN_ROW_BYTES = 64;

/**
 * Transpose by `perm` (default: reversed): a permutation that keeps the
 * last axis behind up to three lead axes (the attention head split) as a
 * generated row gather split between the threads by rows; the rest as
 * `transpose.ts` plans it.
 */
function transpose(info: NodeInfo): Kernel | undefined {
  const x = info.inputs[0];
  if (x === undefined || info.outputs[0] === undefined) return undefined;
  const perm = intsAttr(info.node.attrs, "perm") ??
    x.shape.map((_, i) => x.shape.length - 1 - i);
  const p = { dims: x.shape, perm };
  const rows = contiguousRows(p);
  const elementBytes = BYTES_PER_ELEMENT[x.dtype];
  if (
    rows === undefined || rows.lead.dims.length > 3 ||
    rows.width * elementBytes < GATHER_MIN_ROW_BYTES
  ) {
    return {
      build: (rt) => transposeStep(p, rt.inputView(0), rt.outputView(0)),
    };
  }
  const rowBytes = rows.width * elementBytes;
  const pad = 3 - rows.lead.dims.length;
  const [, d1, d2] = [...Array(pad).fill(1), ...rows.lead.dims];
  const strides = [...Array(pad).fill(0), ...rows.lead.strides].map((s) =>
    s * elementBytes
  );
  const count = sizeOf(rows.lead.dims);
  return {
    async build(rt): Promise<Step> {
      const gather = await loadSplit(
        rt,
        "gather_rows",
        generateGatherRows,
        // Rows advance the output and `first`; each reads and writes rowBytes.
        {
          count: 3,
          grain: 1,
          plan: () => ({
            pointers: [[1, rowBytes], [2, 1]],
            bytesPerUnit: 2 * rowBytes,
          }),
        },
      );
      const [src, dst] = [rt.input(0), rt.output(0)];
      return () => gather(src, dst, 0, count, rowBytes, d1, d2, ...strides);
    },
  };
}

/** Gather along `axis`: whole inner blocks copied per index. */
function gather(info: NodeInfo): Kernel | undefined {
  const [data, indices] = info.inputs;
  if (data === undefined || indices === undefined) return undefined;
  const axis = axisOf(info, 0);
  const outer = sizeOf(data.shape.slice(0, axis));
  const rows = data.shape[axis];
  const inner = sizeOf(data.shape.slice(axis + 1));
  const count = sizeOf(indices.shape);
  return {
    build(rt): Step {
      const src = rt.inputView(0);
      const ids = rt.inputView(1);
      const dst = rt.outputView(0);
      return () => {
        let o = 0;
        for (let p = 0; p < outer; p++) {
          for (let k = 0; k < count; k++) {
            const s = (p * rows + tableRow(info, ids[k], rows)) * inner;
            dst.set(src.subarray(s, s + inner), o);
            o += inner;
          }
        }
      };
    },
  };
}

/** The table row an index names (negative counts from the end), or an error naming the node. */
function tableRow(info: NodeInfo, id: number, rows: number): number {
  const row = id < 0 ? id + rows : id;
  if (!(row >= 0 && row < rows)) {
    throw new EngineError(
      `${info.node.op} node '${info.node.name}': index ${id} is out of range for ${rows} rows.`,
      info.node.name,
    );
  }
  return row;
}

/** GatherGrad on any axis: dy's inner blocks added into a zeroed table. */
function gatherGrad(info: NodeInfo): Kernel | undefined {
  const [dy, indices] = info.inputs;
  const out = info.outputs[0];
  if (dy === undefined || indices === undefined || out === undefined) {
    return undefined;
  }
  const axis = intAttr(info.node.attrs, "axis", 0);
  const outer = sizeOf(out.shape.slice(0, axis));
  const rows = out.shape[axis];
  const inner = sizeOf(out.shape.slice(axis + 1));
  const count = sizeOf(indices.shape);
  return {
    build(rt): Step {
      const src = rt.inputView(0);
      const ids = rt.inputView(1);
      const dst = rt.outputView(0);
      return () => {
        dst.fill(0);
        let k = 0;
        for (let p = 0; p < outer; p++) {
          for (let c = 0; c < count; c++) {
            const base = (p * rows + tableRow(info, ids[c], rows)) * inner;
            for (let j = 0; j < inner; j++) dst[base + j] += src[k++];
          }
        }
      };
    },
  };
}

/** Concat along `axis`: each input's block copied per outer index. */
function concat(info: NodeInfo): Kernel | undefined {
  const out = info.outputs[0];
  if (out === undefined || info.inputs.some((t) => t === undefined)) {
    return undefined;
  }
  const axis = axisOf(info, 0);
  const outer = sizeOf(out.shape.slice(0, axis));
  const blocks = info.inputs.map((t) => sizeOf(t!.shape.slice(axis)));
  const total = blocks.reduce((a, b) => a + b, 0);
  return {
    build(rt): Step {
      const srcs = info.inputs.map((_, i) => rt.inputView(i));
      const dst = rt.outputView(0);
      return () => {
        for (let p = 0; p < outer; p++) {
          let o = p * total;
          srcs.forEach((src, i) => {
            const b = blocks[i];
            dst.set(src.subarray(p * b, p * b + b), o);
            o += b;
          });
        }
      };
    },
  };
}

/** The source position of every element of each output, by the reference op. */
function indexMaps(info: NodeInfo, shape: readonly number[]): Tensor[] {
  const positions = tensor(
    "f64",
    shape,
    Float64Array.from({ length: sizeOf(shape) }, (_, i) => i),
  );
  const op = info.node.op === "SliceGrad" ? "Slice" : info.node.op;
  return getOp(op).evaluate([positions, ...info.fixed.slice(1)], info.node);
}

/** Whether every operand after the first is fixed at create time. */
const restFixed = (info: NodeInfo) =>
  info.node.inputs.every((name, i) =>
    i === 0 || name === "" || info.fixed[i] !== undefined
  );

/** Slice, Split and Expand: each output element copied from its source. */
function gatherByMap(info: NodeInfo): Kernel | undefined {
  const x = info.inputs[0];
  if (x === undefined || !restFixed(info)) return undefined;
  const maps = indexMaps(info, x.shape).map((t) => Int32Array.from(t.data));
  return {
    build(rt): Step {
      const src = rt.inputView(0);
      const dsts = maps.map((_, k) => rt.outputView(k));
      return () => {
        maps.forEach((map, k) => {
          const dst = dsts[k];
          for (let i = 0; i < map.length; i++) dst[i] = src[map[i]];
        });
      };
    },
  };
}

/** SliceGrad: zeros, with dy added where the forward slice read. */
function sliceGrad(info: NodeInfo): Kernel | undefined {
  const shape = intsAttr(info.node.attrs, "shape");
  if (shape === undefined || !restFixed(info)) return undefined;
  const map = Int32Array.from(indexMaps(info, shape)[0].data);
  return {
    build(rt): Step {
      const dy = rt.inputView(0);
      const dx = rt.outputView(0);
      return () => {
        dx.fill(0);
        for (let i = 0; i < map.length; i++) dx[map[i]] += dy[i];
      };
    },
  };
}

/** Shape and Size: the reference run once on the static shape. */
function fromShape(info: NodeInfo): Kernel | undefined {
  const x = info.inputs[0];
  if (x === undefined) return undefined;
  const probe: Tensor = {
    dtype: x.dtype,
    shape: x.shape,
    data: new Float32Array(0),
  };
  const [value] = getOp(info.node.op).evaluate([probe], info.node);
  return {
    build(rt): Step {
      const dst = rt.outputView(0);
      return () => dst.set(value.data);
    },
  };
}

/** The data-movement kernels. */
export const movementKernels: KernelTable = {
  Transpose: transpose,
  Gather: gather,
  GatherGrad: gatherGrad,
  Concat: concat,
  Slice: gatherByMap,
  Split: gatherByMap,
  Expand: gatherByMap,
  SliceGrad: sliceGrad,
  Shape: fromShape,
  Size: fromShape,
};
