/**
 * Errors the ONNX frontend raises. Each names the file, tensor or node at
 * fault and says what to do; the CLI prints `message` alone, so messages
 * carry everything a user needs and no stack trace is shown.
 *
 * @module
 */

import { onnxTypeName } from "../ops/cast.ts";

/** Base class of every frontend error, so callers can catch them as one. */
export class FrontendError extends Error {
  /** The model file concerned, when known. */
  readonly file: string | undefined;

  /** Builds the error; subclasses write the whole message. */
  constructor(message: string, file: string | undefined) {
    super(message);
    this.name = "FrontendError";
    this.file = file;
  }
}

/** The file as a sentence subject. */
function where(file: string | undefined): string {
  return file === undefined ? "The model" : `'${file}'`;
}

/** The file mid-sentence. */
function within(file: string | undefined): string {
  return file === undefined ? "the model" : `'${file}'`;
}

/** Why bytes could not be read as an ONNX model. */
export type DecodeProblem =
  | "empty"
  | "truncated"
  | "not-onnx"
  | "missing-graph"
  | "missing-opset";

const DECODE_TEXT: Record<DecodeProblem, string> = {
  "empty": "is empty",
  "truncated": "ends in the middle of a record (the file is truncated)",
  "not-onnx": "is not an ONNX model (it does not decode as a ModelProto)",
  "missing-graph": "has no graph",
  "missing-opset": "declares no ai.onnx opset (opset_import is empty)",
};

/** The bytes are not a usable ONNX ModelProto. */
export class OnnxDecodeError extends FrontendError {
  /** What is wrong with the bytes. */
  readonly problem: DecodeProblem;
  /** Lower-level detail (e.g. the protobuf decoder's complaint), if any. */
  readonly detail: string | undefined;

  /** Describes `problem` for `file`. */
  constructor(problem: DecodeProblem, file?: string, detail?: string) {
    super(
      `${where(file)} ${DECODE_TEXT[problem]}` +
        (detail === undefined ? "" : ` (${detail})`) +
        "; re-export the model or check that the path points at an .onnx file.",
      file,
    );
    this.name = "OnnxDecodeError";
    this.problem = problem;
    this.detail = detail;
  }
}

/** The model's ai.onnx opset is outside what the frontend imports. */
export class UnsupportedOpsetError extends FrontendError {
  /** The opset the model declares. */
  readonly opset: number;
  /** Oldest supported opset. */
  readonly min: number;
  /** Newest supported opset. */
  readonly max: number;

  /** Names the opset and the supported range. */
  constructor(opset: number, min: number, max: number, file?: string) {
    super(
      `${
        where(file)
      } uses ai.onnx opset ${opset}, but only opsets ${min} to ${max} are supported; ` +
        `convert it with onnx.version_converter to an opset in that range.`,
      file,
    );
    this.name = "UnsupportedOpsetError";
    this.opset = opset;
    this.min = min;
    this.max = max;
  }
}

/** One node the op table cannot import. */
export interface UnsupportedNode {
  /** Node name (after uniquing). */
  readonly name: string;
  /** ONNX op type. */
  readonly opType: string;
  /** Domain; `""` for ai.onnx. */
  readonly domain: string;
  /** The op version the model's opset resolves to, or `undefined` if the op is unknown. */
  readonly version: number | undefined;
  /** Why it is refused. */
  readonly reason: string;
}

/** Some nodes use ops (or op versions, or forms) the frontend cannot import. */
export class UnsupportedOpsError extends FrontendError {
  /** Every refused node, in graph order. */
  readonly nodes: readonly UnsupportedNode[];

  /** Lists every refused node in one message. */
  constructor(nodes: readonly UnsupportedNode[], file?: string) {
    const lines = nodes.map((n) => {
      const op = n.domain === "" ? n.opType : `${n.domain}.${n.opType}`;
      const v = n.version === undefined ? "" : `-${n.version}`;
      return `  node '${n.name}': ${op}${v}: ${n.reason}`;
    });
    super(
      `${where(file)} has ${nodes.length} node${
        nodes.length === 1 ? "" : "s"
      } the importer does not support; ` +
        `see docs/ops.md for what is supported, or re-export with standard ai.onnx ops:\n` +
        lines.join("\n"),
      file,
    );
    this.name = "UnsupportedOpsError";
    this.nodes = nodes;
  }
}

/** A tensor or value has an element type the IR cannot hold. */
export class UnsupportedDtypeError extends FrontendError {
  /** The tensor or value name. */
  readonly valueName: string;
  /** ONNX TensorProto.DataType code, or `undefined` for a non-tensor type. */
  readonly onnxType: number | undefined;
  /** Readable ONNX type name, e.g. `BFLOAT16` or `sequence`. */
  readonly typeName: string;

  /**
   * Names the value and its type: an element-type code, or the name of a
   * non-tensor type (sequence, map, optional, sparse tensor).
   */
  constructor(valueName: string, type: number | string, file?: string) {
    const typeName = typeof type === "number" ? onnxTypeName(type) : type;
    super(
      `Value '${valueName}' in ${within(file)} has type ${typeName}, ` +
        `which the IR does not support; export it as a tensor of float, float16, double, integer or bool elements.`,
      file,
    );
    this.name = "UnsupportedDtypeError";
    this.valueName = valueName;
    this.onnxType = typeof type === "number" ? type : undefined;
    this.typeName = typeName;
  }
}

/** External tensor data is missing, short or malformed. */
export class ExternalDataError extends FrontendError {
  /** The tensor whose data is external. */
  readonly tensorName: string;
  /** The data file path the tensor points at (resolved), if known. */
  readonly dataPath: string | undefined;

  /** Names the tensor, the expected path and the problem. */
  constructor(
    tensorName: string,
    dataPath: string | undefined,
    problem: string,
    file?: string,
  ) {
    super(
      `Tensor '${tensorName}' stores its data outside ${within(file)}` +
        (dataPath === undefined ? "" : ` in '${dataPath}'`) +
        `, but ${problem}; keep the data file next to the model under the name it was exported with.`,
      file,
    );
    this.name = "ExternalDataError";
    this.tensorName = tensorName;
    this.dataPath = dataPath;
  }
}

/** A tensor's stored data does not match its declared type and shape. */
export class MalformedTensorError extends FrontendError {
  /** The tensor name. */
  readonly tensorName: string;

  /** Names the tensor and what is inconsistent. */
  constructor(tensorName: string, problem: string, file?: string) {
    super(
      `Tensor '${tensorName}' in ${
        within(file)
      } is malformed: ${problem}; re-export the model.`,
      file,
    );
    this.name = "MalformedTensorError";
    this.tensorName = tensorName;
  }
}

/** What is structurally wrong with a graph. */
export type GraphProblem =
  | "undefined-input"
  | "cycle"
  | "defined-twice"
  | "undefined-output";

/** The graph's nodes cannot be put in a valid order or define a value twice. */
export class GraphStructureError extends FrontendError {
  /** What is wrong. */
  readonly problem: GraphProblem;
  /** The node at fault (first one found), if any. */
  readonly nodeName: string | undefined;
  /** The value concerned. */
  readonly valueName: string;

  /** Describes the problem at `nodeName` / `valueName`. */
  constructor(
    problem: GraphProblem,
    valueName: string,
    nodeName: string | undefined,
    file?: string,
    detail = "",
  ) {
    const f = where(file);
    const text: Record<GraphProblem, string> = {
      "undefined-input":
        `${f}: node '${nodeName}' reads value '${valueName}', which no node, initializer or graph input defines`,
      "cycle":
        `${f}: node '${nodeName}' is part of a cycle through value '${valueName}'${detail}`,
      "defined-twice": `${f}: value '${valueName}' is defined twice (again by ${
        nodeName === undefined
          ? "an initializer or input"
          : `node '${nodeName}'`
      })`,
      "undefined-output": `${f}: graph output '${valueName}' is never computed`,
    };
    super(`${text[problem]}; the graph is invalid, re-export the model.`, file);
    this.name = "GraphStructureError";
    this.problem = problem;
    this.nodeName = nodeName;
    this.valueName = valueName;
  }
}

/** A node of a supported op has attributes or inputs the importer cannot use. */
export class InvalidNodeError extends FrontendError {
  /** The node name. */
  readonly nodeName: string;
  /** ONNX op type. */
  readonly opType: string;

  /** Names the node and what is wrong with it. */
  constructor(
    nodeName: string,
    opType: string,
    problem: string,
    file?: string,
  ) {
    super(
      `${opType} node '${nodeName}' in ${
        within(file)
      } ${problem}; check the exporter's output for this node.`,
      file,
    );
    this.name = "InvalidNodeError";
    this.nodeName = nodeName;
    this.opType = opType;
  }
}
