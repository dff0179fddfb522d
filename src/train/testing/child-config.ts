/** @module train/testing/child-config — the training config of the resume tests' child runs. */
/** The run every resume test uses: small, KL on (so the reference path is covered), checkpoints every 2 steps. */
export const CHILD_CONFIG = {
  promptsPerStep: 4,
  groupSize: 4,
  maxSteps: 6,
  checkpointEvery: 2,
  keepCheckpoints: 2,
  lr: 2e-3,
  klCoef: 0.001,
  maxResponseTokens: 24,
  microBatchSize: 6,
  seed: 5,
};
