/** Cross-check: the tfjs training model and C2's inference engine (model/infer.ts) give the same logits for one WeightMap. */
import { beforeAll, expect, test } from "vitest";
import { initTensorBackend } from "../tensor/backend.js";
import { createTrainableModel } from "./trainable.js";
import { InferenceModel } from "./infer.js";
import { tinyQwen2 } from "./testing.js";
import { createRng } from "../util/rng.js";

beforeAll(async () => {
  await initTensorBackend({ quiet: true });
});

test("training model logits equal the inference engine's, prefill and after a training-style weight sync", () => {
  const { config, weights } = tinyQwen2({ seed: 7 });
  const rng = createRng(5);
  const T = 12;
  const ids = Int32Array.from({ length: T }, () => rng.int(config.vocab_size));
  const trainable = createTrainableModel(config, weights);
  const engine = new InferenceModel(config, weights);
  const check = () => {
    const ours = trainable.logits(ids, 1, T);
    const got = ours.dataSync();
    ours.dispose();
    const theirs = engine.forward([{ cache: engine.newCache(T), tokens: ids, logits: "all" }]);
    expect(theirs.length).toBe(got.length);
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - theirs[i]));
    expect(maxErr).toBeLessThan(1e-4);
  };
  check();
  // Perturb the trainable weights (as an optimizer step would), then sync them into the engine.
  for (const v of trainable.variables) v.assign(v.mul(1.05));
  engine.setWeights(trainable.exportWeights());
  check();
  trainable.dispose();
});
