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

test("on the real stories260K checkpoint (llama2.c, GQA) the training model matches the engine and the float64 reference", async () => {
  const { loadModel } = await import("./load.js");
  const { referenceLogits } = await import("./trainable-reference.js");
  const { config, weights, tokenizer } = await loadModel("../shared/data/models/stories260K");
  const text = "Once upon a time, there was a little girl named Lily.";
  const ids = Int32Array.from(tokenizer.encode(text).slice(0, 16));
  const T = ids.length;
  const trainable = createTrainableModel(config, weights);
  const engine = new InferenceModel(config, weights);
  const ours = trainable.logits(ids, 1, T);
  const got = ours.dataSync();
  const theirs = engine.forward([{ cache: engine.newCache(T), tokens: ids, logits: "all" }]);
  const ref = referenceLogits(config, weights, ids);
  let errEngine = 0;
  let errRef = 0;
  for (let i = 0; i < got.length; i++) {
    errEngine = Math.max(errEngine, Math.abs(got[i] - theirs[i]));
    errRef = Math.max(errRef, Math.abs(got[i] - ref[i]));
  }
  expect(errEngine).toBeLessThan(1e-3);
  expect(errRef).toBeLessThan(1e-3);
  ours.dispose();
  trainable.dispose();
});
