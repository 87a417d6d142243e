/**
 * The training-artifact runtime, bundled as each artifact's `tessera.js`:
 * load an artifact (folder path in Deno/Node, URL in a browser), train it
 * step by step, evaluate, predict, and checkpoint. Nothing here is Deno- or
 * Node-specific; file access goes through `files.ts`.
 *
 * @module
 */

export {
  type Evaluation,
  loadArtifact,
  type Prediction,
  type StepResult,
  TrainingArtifact,
} from "./artifact.ts";
export type { Batch, FeedBatch, TextBatch, TextInput } from "./feeds.ts";
export {
  type ArtifactSource,
  type FileReader,
  readFileBytes,
  writeFileAtomic,
} from "./files.ts";
export {
  ARTIFACT_VERSION,
  ArtifactError,
  type ArtifactManifest,
} from "./manifest.ts";
