import { beforeAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "../tensor/backend.js";
import { createTrainableModel, initWeights, type TrainableModel } from "./trainable.js";
import { referenceTokenLogprobs } from "./trainable-reference.js";
import { computeGrads, createAdamW } from "./optim.js";
import { causalLmLoss, trainStep, type LmBatch } from "./optim-step.js";
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";
import { createRng } from "../util/rng.js";
import { randomWeights, tinyQwen } from "./trainable-fixtures.js";

beforeAll(async () => {
  await initTensorBackend({ quiet: true });
});

/** A right-padded batch of 3 sequences with a partial loss mask. */
function makeBatch(V: number, seed: number): LmBatch & { seqs: Int32Array[] } {
  const rng = createRng(seed);
  const lengths = [6, 9, 4];
  const T = 9;
  const seqs = lengths.map((n) => Int32Array.from({ length: n }, () => rng.int(V)));
  const inputIds = new Int32Array(3 * T);
  const attentionMask = new Int32Array(3 * T);
  const lossMask = new Int32Array(3 * T);
  seqs.forEach((s, b) => {
    inputIds.set(s, b * T);
    attentionMask.fill(1, b * T, b * T + s.length);
    for (let t = 1; t < s.length; t++) lossMask[b * T + t] = t % 3 === 0 ? 0 : 1; // some real tokens not trained on
  });
  return { inputIds, B: 3, T, attentionMask, lossMask, seqs };
}

/** L = Σ (−lp + 0.1·H)·mask / Σ mask, from the float64 reference (each sequence unpadded). */
function referenceLoss(config: ModelConfig, w: WeightMap, batch: ReturnType<typeof makeBatch>): number {
  let num = 0;
  let den = 0;
  batch.seqs.forEach((s, b) => {
    const { logprobs, entropy } = referenceTokenLogprobs(config, w, s);
    for (let t = 0; t < s.length - 1; t++) {
      const m = batch.lossMask![b * batch.T + t + 1];
      num += (-logprobs[t] + 0.1 * entropy[t]) * m;
      den += m;
    }
  });
  return num / den;
}

function modelLoss(model: TrainableModel, batch: ReturnType<typeof makeBatch>): tf.Scalar {
  const { logprobs, entropy } = model.tokenLogprobs(batch);
  const mask = tf.tensor2d(
    Float32Array.from({ length: batch.B * (batch.T - 1) }, (_, i) => batch.lossMask![Math.floor(i / (batch.T - 1)) * batch.T + (i % (batch.T - 1)) + 1]),
    [batch.B, batch.T - 1],
  );
  return logprobs.neg().add(entropy.mul(0.1)).mul(mask).sum().div(mask.sum()) as tf.Scalar;
}

/** Gradients (keyed by internal names) → Hugging Face tensors, through a scratch model's exportWeights. */
function gradsToHf(config: ModelConfig, weights: WeightMap, grads: Map<string, tf.Tensor>): WeightMap {
  const scratch = createTrainableModel(config, weights, { trainable: false });
  for (const [k, g] of grads) scratch.params.get(k)!.assign(g);
  const out = scratch.exportWeights();
  scratch.dispose();
  return out;
}

describe.each([false, true])("finite-difference gradient check (tied: %s)", (tied) => {
  test("every tensor's directional derivative matches the float64 reference", () => {
    const config = tinyQwen(tied);
    const weights = randomWeights(config, 21);
    const batch = makeBatch(config.vocab_size, 4);
    const model = createTrainableModel(config, weights);
    const { grads, loss } = computeGrads(model.params, [() => modelLoss(model, batch)]);
    expect(loss).toBeCloseTo(referenceLoss(config, weights, batch), 4);
    const g = gradsToHf(config, weights, grads);
    tf.dispose([...grads.values()]);
    const rng = createRng(9);
    const eps = 1e-5;
    for (const [name, t] of weights) {
      const u = Float64Array.from(t.data, () => rng.normal());
      const shifted = (sign: number): WeightMap => {
        const w = new Map(weights);
        const d = Float64Array.from(t.data, (x, i) => x + sign * eps * u[i]);
        w.set(name, { shape: t.shape, data: d as unknown as Float32Array }); // float64 perturbation: no rounding
        return w;
      };
      const fd = (referenceLoss(config, shifted(1), batch) - referenceLoss(config, shifted(-1), batch)) / (2 * eps);
      const gd = g.get(name)!.data;
      let analytic = 0;
      for (let i = 0; i < u.length; i++) analytic += gd[i] * u[i];
      expect(Math.abs(analytic - fd), `${name}: analytic ${analytic} vs finite difference ${fd}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
    }
    model.dispose();
  });
});

describe("trainStep", () => {
  const config = tinyQwen(false);

  test("micro-batches give the same update as the full batch", () => {
    const weights = randomWeights(config, 31);
    const batch = makeBatch(config.vocab_size, 7);
    const run = (microBatchSize: number) => {
      const model = createTrainableModel(config, weights);
      const opt = createAdamW(model.params, { lr: 1e-2 });
      const r = trainStep(model, opt, batch, { microBatchSize, maxGradNorm: 0.5 });
      const out = model.exportWeights();
      opt.dispose();
      model.dispose();
      return { r, out };
    };
    const full = run(3);
    const micro = run(1);
    expect(micro.r.loss).toBeCloseTo(full.r.loss, 5);
    expect(micro.r.gradNorm).toBeCloseTo(full.r.gradNorm, 4);
    expect(full.r.tokens).toBe(12); // targets t = 1..n−1 with t % 3 ≠ 0: 4 + 6 + 2
    for (const [name, t] of full.out) {
      const d = micro.out.get(name)!.data;
      let maxErr = 0;
      for (let i = 0; i < d.length; i++) maxErr = Math.max(maxErr, Math.abs(d[i] - t.data[i]));
      expect(maxErr, name).toBeLessThan(1e-5);
    }
  });

  test("no tensor leaks over several steps", () => {
    const model = createTrainableModel(config, randomWeights(config, 41));
    const opt = createAdamW(model.params, { lr: 1e-3 });
    const batch = makeBatch(config.vocab_size, 8);
    trainStep(model, opt, batch); // first step creates the moments
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) trainStep(model, opt, batch, { microBatchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    model.dispose();
  });

  test("a NaN loss skips the update", () => {
    const weights = randomWeights(config, 51);
    weights.get("model.norm.weight")!.data[3] = Number.NaN;
    const model = createTrainableModel(config, weights);
    const opt = createAdamW(model.params, { lr: 1e-3 });
    const r = trainStep(model, opt, makeBatch(config.vocab_size, 9));
    expect(r.skipped).toBe(true);
    expect(opt.stepCount).toBe(0);
    expect(Array.from(model.exportWeights().get("model.embed_tokens.weight")!.data)).toEqual(Array.from(weights.get("model.embed_tokens.weight")!.data));
    opt.dispose();
    model.dispose();
  });

  test("a tiny model overfits one sequence", () => {
    const cfg = { ...tinyQwen(true), hidden_size: 32, intermediate_size: 64 };
    const model = createTrainableModel(cfg, initWeights(cfg, 3));
    const opt = createAdamW(model.params, { lr: 1e-2, weightDecay: 0 });
    const rng = createRng(77);
    const T = 24;
    const batch: LmBatch = { inputIds: Int32Array.from({ length: T }, () => rng.int(cfg.vocab_size)), B: 1, T };
    const first = trainStep(model, opt, batch).loss;
    let last = first;
    for (let i = 0; i < 60; i++) last = trainStep(model, opt, batch).loss;
    expect(first).toBeGreaterThan(3); // ≈ ln 37 at init
    expect(last).toBeLessThan(0.05);
    const l = causalLmLoss(model, batch);
    expect(l.dataSync()[0]).toBeLessThan(0.05);
    l.dispose();
    opt.dispose();
    model.dispose();
  });
});
