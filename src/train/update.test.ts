/**
 * skipZeroAdvantage: rows whose advantage is 0 are left out of the backward, yet the update is the one the full
 * batch gives when only the policy-gradient term acts (entropy and KL off), because the loss keeps every row's
 * tokens in its denominator. With the entropy bonus on, the two updates differ (that term is what is dropped).
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "../tensor/backend.js";
import type { ModelConfig } from "../model/config.js";
import { createTrainableModel, initWeights } from "../model/trainable.js";
import { createAdamW } from "../model/optim.js";
import { TrainConfig } from "./config.js";
import { planUpdate, runUpdate, type UpdateRow } from "./update.js";
import { buildTrainBatch } from "./batch.js";

const config: ModelConfig = {
  model_type: "llama",
  vocab_size: 11,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
};
const EOS = 10;
const rows: UpdateRow[] = [
  { seq: { promptIds: [1, 2], responseIds: [3, 4, 5, EOS], policyMask: [1, 1, 1, 1] }, adv: 1.2, rolloutLogp: null },
  { seq: { promptIds: [1, 2], responseIds: [6, 7, 8, 9, 9, EOS], policyMask: [1, 0, 0, 1, 1, 1] }, adv: 0, rolloutLogp: null },
  { seq: { promptIds: [1, 3], responseIds: [5, EOS], policyMask: [1, 1] }, adv: -0.7, rolloutLogp: null },
  { seq: { promptIds: [1, 3], responseIds: [4, 4, 4, EOS], policyMask: [1, 1, 1, 1] }, adv: 0, rolloutLogp: null },
];

/** Weights after one update of a fresh model, and the update's plan facts. */
function update(over: Partial<TrainConfig>) {
  const cfg = TrainConfig.parse({ model: "m", data: "d", index: "i", microBatchSize: 2, klCoef: 0, ...over });
  const policy = createTrainableModel(config, initWeights(config, 3, 0.3));
  const optimizer = createAdamW(policy.params, { weightDecay: 0 });
  const plan = planUpdate(rows, cfg, { policy, eosId: EOS });
  const res = runUpdate(plan, rows, cfg, { policy, optimizer }, 1e-2);
  plan.dispose();
  const weights = [...policy.params.values()].map((v) => (v.dataSync() as Float32Array).slice());
  policy.dispose();
  return { weights, res, trainedTokens: plan.trainedTokens, skippedRows: plan.skippedRows };
}

const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((w, i) => Math.max(...w.map((x, j) => Math.abs(x - b[i][j])))));

describe("skipZeroAdvantage", () => {
  beforeAll(async () => {
    await initTensorBackend({ quiet: true });
  });

  it.each(["token-mean", "seq-mean-token-mean"] as const)("gives the full batch's policy-gradient update without the zero-advantage rows (%s)", (lossAgg) => {
    const full = update({ entropyCoef: 0, lossAgg });
    const skip = update({ entropyCoef: 0, lossAgg, skipZeroAdvantage: true });
    expect(full.skippedRows).toBe(0);
    expect(skip.skippedRows).toBe(2);
    expect(full.trainedTokens).toBe(4 + 4 + 2 + 4);
    expect(skip.trainedTokens).toBe(4 + 2);
    expect(skip.res.stats.pg).toBeCloseTo(full.res.stats.pg, 6);
    expect(skip.res.stats.gnorm).toBeCloseTo(full.res.stats.gnorm, 5);
    expect(skip.res.stats.gnorm).toBeGreaterThan(0);
    expect(maxDiff(skip.weights, full.weights)).toBeLessThan(1e-6);
  });

  it("drops only the skipped rows' entropy bonus, and reports entropy as a mean over the rows run", () => {
    const full = update({ entropyCoef: 0.5 });
    const skip = update({ entropyCoef: 0.5, skipZeroAdvantage: true });
    expect(maxDiff(skip.weights, full.weights)).toBeGreaterThan(1e-5);
    // the reported entropy: the token mean over the kept rows' trained tokens, under the weights before the update
    const kept = rows.filter((r) => r.adv !== 0).map((r) => r.seq);
    const batch = buildTrainBatch(kept, EOS);
    const lengths = kept.map((q) => q.promptIds.length + q.responseIds.length);
    const policy = createTrainableModel(config, initWeights(config, 3, 0.3));
    const ent = policy.tokenLogprobs({
      inputIds: Int32Array.from(batch.tokens.flat()),
      B: batch.B,
      T: batch.L,
      attentionMask: Float32Array.from(batch.tokens.flatMap((row, b) => row.map((_, j) => (j < lengths[b] ? 1 : 0)))),
    }).entropy.arraySync();
    const expected = ent.flat().reduce((a, e, i) => a + e * batch.lossMask.flat()[i], 0) / batch.trainTokens;
    policy.dispose();
    expect(skip.res.stats.ent).toBeCloseTo(expected, 5);
    expect(full.res.stats.ent).not.toBeCloseTo(expected, 3);
  });

  it("makes no update when every advantage is 0", () => {
    const cfg = TrainConfig.parse({ model: "m", data: "d", index: "i", skipZeroAdvantage: true });
    const policy = createTrainableModel(config, initWeights(config, 3, 0.3));
    const before = [...policy.params.values()].map((v) => (v.dataSync() as Float32Array).slice());
    const optimizer = createAdamW(policy.params);
    const zero = rows.map((r) => ({ ...r, adv: 0 }));
    const plan = planUpdate(zero, cfg, { policy, eosId: EOS });
    expect(plan.skippedRows).toBe(4);
    expect(plan.trainedTokens).toBe(0);
    const res = runUpdate(plan, zero, cfg, { policy, optimizer }, 1e-2);
    expect(res.skipReason).toBeUndefined();
    expect(optimizer.stepCount).toBe(0);
    expect(maxDiff([...policy.params.values()].map((v) => (v.dataSync() as Float32Array).slice()), before)).toBe(0);
    policy.dispose();
    tf.disposeVariables();
  });
});
