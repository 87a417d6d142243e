/**
 * The op table: every ONNX op the frontend knows, ONNX's own list of
 * since-versions for it, the versions this importer handles, and the
 * importer. For a model at opset N an op resolves to the largest
 * since-version ≤ N; a resolved version that is not imported is refused —
 * never a silent fallback to another version.
 *
 * @module
 */

import { isDefaultDomain } from "./decode.ts";
import type { OpEntry } from "./importer.ts";
import { elementwiseEntries } from "./ops/elementwise.ts";
import { generatorEntries } from "./ops/generators.ts";
import { logicalEntries } from "./ops/logical.ts";
import { nnEntries } from "./ops/nn.ts";
import { reduceEntries } from "./ops/reduce.ts";
import { shapeEntries } from "./ops/shape.ts";
import { sliceSplitEntries } from "./ops/slice_split.ts";

const TABLE: ReadonlyMap<string, OpEntry> = new Map(
  [
    ...elementwiseEntries,
    ...generatorEntries,
    ...logicalEntries,
    ...nnEntries,
    ...reduceEntries,
    ...shapeEntries,
    ...sliceSplitEntries,
  ].map((e) => [e.opType, e]),
);

/** Every entry of the op table, sorted by ONNX op type. */
export function opTable(): OpEntry[] {
  return [...TABLE.values()].sort((a, b) => a.opType.localeCompare(b.opType));
}

/** The since-version of an op at `opset`: the largest one ≤ `opset`. */
export function resolveVersion(
  versions: readonly number[],
  opset: number,
): number | undefined {
  let found: number | undefined;
  for (const v of versions) if (v <= opset) found = v;
  return found;
}

/** How an ONNX op resolves at a model's opset. */
export type Resolution =
  | { readonly ok: true; readonly entry: OpEntry; readonly version: number }
  | {
    readonly ok: false;
    readonly version: number | undefined;
    readonly reason: string;
  };

/** Resolves op `opType` of `domain` at ai.onnx opset `opset`. */
export function resolveOp(
  opType: string,
  domain: string,
  opset: number,
): Resolution {
  if (!isDefaultDomain(domain)) {
    return {
      ok: false,
      version: undefined,
      reason: `ops of domain '${domain}' are not supported`,
    };
  }
  const entry = TABLE.get(opType);
  if (entry === undefined) {
    return {
      ok: false,
      version: undefined,
      reason: "the op is not supported",
    };
  }
  const version = resolveVersion(entry.versions, opset);
  if (version === undefined) {
    return {
      ok: false,
      version,
      reason: `the op does not exist at opset ${opset} (it was added in opset ${
        entry.versions[0]
      })`,
    };
  }
  if (!entry.imported.includes(version)) {
    return {
      ok: false,
      version,
      reason: `version ${version} of the op is not supported (supported: ${
        entry.imported.join(", ")
      })`,
    };
  }
  return { ok: true, entry, version };
}
