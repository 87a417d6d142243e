/**
 * Bytes → a checked ONNX ModelProto. protobufjs happily "decodes" many
 * non-ONNX byte strings, so a decoded message is only accepted when it looks
 * like a model: a graph, a known IR version and an ai.onnx opset.
 *
 * @module
 */

import onnx from "onnx-proto";
import { OnnxDecodeError, UnsupportedOpsetError } from "./errors.ts";
import { type Int64, int64 } from "./onnx_types.ts";

/** A decoded ONNX model. */
export type ModelProto = onnx.onnx.ModelProto;

/** Oldest ai.onnx opset accepted; older op forms are refused op by op. */
export const MIN_OPSET = 1;
/**
 * Newest ai.onnx opset accepted: the op table encodes ONNX's version lists
 * through opset 25 (ONNX 1.20); a newer opset could change an op in a way
 * this importer does not know of, so it is refused rather than guessed at.
 */
export const MAX_OPSET = 25;

/** Newest ONNX IR version known (ONNX 1.22 writes 13); leaves room for a few more. */
const MAX_IR_VERSION = 16;

/** A model and the facts about it the importer needs. */
export interface DecodedModel {
  /** The ModelProto, graph present. */
  readonly model: ModelProto;
  /** The ai.onnx opset version. */
  readonly opset: number;
  /** Opset versions of the other domains, by domain name. */
  readonly domains: ReadonlyMap<string, number>;
}

/** Whether a domain name means the default ai.onnx domain. */
export function isDefaultDomain(domain: string | null | undefined): boolean {
  return !domain || domain === "ai.onnx";
}

/**
 * Decodes and checks a ModelProto.
 *
 * @param bytes the file contents.
 * @param file the file path, used in messages.
 * @throws {OnnxDecodeError} for empty, truncated or non-ONNX bytes, a missing
 * graph or a missing ai.onnx opset.
 * @throws {UnsupportedOpsetError} for an ai.onnx opset outside
 * {@linkcode MIN_OPSET}..{@linkcode MAX_OPSET}.
 */
export function decodeModel(bytes: Uint8Array, file?: string): DecodedModel {
  if (bytes.length === 0) throw new OnnxDecodeError("empty", file);
  let model: ModelProto;
  try {
    model = onnx.onnx.ModelProto.decode(bytes);
  } catch (e) {
    const message = (e as Error).message;
    // protobufjs reports reads past the end as "index out of range".
    const truncated = /index out of range/.test(message);
    throw new OnnxDecodeError(
      truncated ? "truncated" : "not-onnx",
      file,
      message,
    );
  }
  const irVersion = int64(model.irVersion as Int64);
  if (irVersion < 1 || irVersion > MAX_IR_VERSION) {
    throw new OnnxDecodeError(
      "not-onnx",
      file,
      irVersion === 0 ? "no ir_version" : `ir_version ${irVersion} is unknown`,
    );
  }
  if (!model.graph) throw new OnnxDecodeError("missing-graph", file);
  let opset: number | undefined;
  const domains = new Map<string, number>();
  for (const entry of model.opsetImport ?? []) {
    const version = int64(entry.version as Int64);
    if (isDefaultDomain(entry.domain)) opset = version;
    else domains.set(entry.domain ?? "", version);
  }
  // IR versions before 3 had no opset_import and meant opset 1.
  if (opset === undefined && irVersion < 3) opset = 1;
  if (opset === undefined) throw new OnnxDecodeError("missing-opset", file);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new UnsupportedOpsetError(opset, MIN_OPSET, MAX_OPSET, file);
  }
  return { model, opset, domains };
}
