/**
 * Drives a training artifact through a runtime module (`tessera.js`, or the
 * TypeScript source) the same way in Deno, Node and a browser, and returns
 * plain data for the environments' answers to be compared: losses of a few
 * steps, a checkpoint round trip, a prediction and an evaluation.
 *
 * Plain JavaScript, so Node and Chromium load it as it is.
 *
 * @module
 */

/** Two batches of eight rows of the tiny sentiment set (its train.tsv head). */
export const BATCHES = [
  {
    texts: [
      "the music seems not really tedious",
      "the acting seems very flat",
      "the acting is wonderful",
      "the movie is very wonderful",
      "the ending is very boring",
      "the cast was not truly stale",
      "the acting was really great",
      "the story is brilliant",
    ],
    labels: [1, 0, 1, 1, 0, 1, 1, 1],
  },
  {
    texts: [
      "the ending seems very boring",
      "the ending seems truly warm",
      "the cast is really dull",
      "this film feels quite cold",
      "the acting is not cold",
      "the script feels charming",
      ["the story is truly boring", "the story feels not charming"],
      "the ending feels not funny",
    ],
    labels: [0, 1, 0, 0, 1, 1, 0, 0],
  },
];

/**
 * Trains the artifact at `source` 4 steps, checkpoints (through
 * `checkpointPath` with the runtime's atomic write when given), trains 2
 * more, resumes a fresh load from the checkpoint for the same 2, then
 * predicts and evaluates.
 *
 * @param {Record<string, any>} tessera The runtime module.
 * @param {string} source The artifact's folder or URL.
 * @param {string} [checkpointPath] Where to write the checkpoint (Deno/Node).
 */
export async function drive(tessera, source, checkpointPath) {
  const model = await tessera.loadArtifact(source);
  const train = (m, steps) =>
    Array.from({ length: steps }, (_, s) => m.trainStep(BATCHES[s % 2]).loss);
  const losses = train(model, 4);
  let checkpoint = model.saveCheckpoint();
  if (checkpointPath !== undefined) {
    await tessera.writeFileAtomic(checkpointPath, checkpoint);
    checkpoint = await tessera.readFileBytes(checkpointPath);
  }
  const straight = train(model, 2);
  const resumed = await tessera.loadArtifact(source);
  resumed.loadCheckpoint(checkpoint);
  const again = train(resumed, 2);
  return {
    losses,
    straight,
    again,
    step: resumed.step,
    prediction: await model.predict(BATCHES[0].texts[2]),
    evaluation: await model.evaluate([
      { texts: [BATCHES[0].texts[2], BATCHES[1].texts[6]], labels: [1, 0] },
    ]),
  };
}
