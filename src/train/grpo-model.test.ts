/**
 * Finite-difference check of the full GRPO loss (clipped surrogate + k3 KL + entropy bonus, token-mean) through the
 * real trainable transformer (Qwen2-style: QKV bias, grouped-query attention, untied head) on a padded batch built by
 * the trainer's batch builder (prompt, policy tokens, an inserted <result> block, EOS, a stray token after EOS):
 * tfjs autograd vs central differences of the float64 reference forward (model/trainable-reference.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "../tensor/backend.js";
import type { ModelConfig } from "../model/config.js";
import { createTrainableModel, initWeights } from "../model/trainable.js";
import { referenceTokenLogprobs } from "../model/trainable-reference.js";
import { computeGrads } from "../model/optim.js";
import { createRng } from "../util/rng.js";
import { grpoLoss, type GrpoLossOptions } from "./grpo.js";
import { grpoLossReference } from "./grpo-reference.js";
import { buildTrainBatch } from "./batch.js";

const config: ModelConfig = {
  model_type: "qwen2",
  vocab_size: 13,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-6,
  rope_theta: 500,
  tie_word_embeddings: false,
  attention_bias: true,
};
const EOS = 12;
const seqs = [
  { promptIds: [1, 5, 7], responseIds: [3, 4, 9, 9, 6, 2, EOS, 8], policyMask: [1, 1, 0, 0, 1, 1, 1, 1] },
  { promptIds: [2, 3], responseIds: [5, 6, 11, EOS], policyMask: [1, 1, 1, 1] },
];
const opts: GrpoLossOptions = { clipRatio: 0.2, klCoef: 0.5, entropyCoef: 0.3, lossAgg: "token-mean" };

describe("GRPO loss gradient through the transformer", () => {
  beforeAll(async () => {
    await initTensorBackend({ quiet: true });
  });

  it("matches float64 central differences on every parameter tensor", () => {
    const batch = buildTrainBatch(seqs, EOS);
    const { B, L } = batch;
    const T = L - 1;
    const lengths = seqs.map((s) => s.promptIds.length + s.responseIds.length);
    const attn = Float32Array.from(batch.tokens.flatMap((r, b) => r.map((_, j) => (j < lengths[b] ? 1 : 0))));
    const ids = Int32Array.from(batch.tokens.flat());
    const model = createTrainableModel(config, initWeights(config, 5, 0.25));
    const refModelWeights = initWeights(config, 6, 0.25);
    const rng = createRng(9);

    // float64 per-token log-probs/entropy of the padded batch layout, from the reference forward
    const forward64 = (w: Map<string, { shape: number[]; data: Float32Array }>) => {
      const logp = batch.tokens.map(() => new Array<number>(T).fill(0));
      const entropy = batch.tokens.map(() => new Array<number>(T).fill(0));
      batch.tokens.forEach((row, b) => {
        const r = referenceTokenLogprobs(config, w, row.slice(0, lengths[b]));
        for (let t = 0; t < lengths[b] - 1; t++) {
          logp[b][t] = r.logprobs[t];
          entropy[b][t] = r.entropy[t];
        }
      });
      return { logp, entropy };
    };
    const cur = forward64(model.exportWeights());
    const oldLogp = cur.logp.map((r) => r.map((x) => x + 0.3 * rng.normal())); // some tokens clipped
    const refLogp = forward64(refModelWeights).logp;
    const advantages = [0.9, -1.3];
    const loss64 = () => {
      const f = forward64(model.exportWeights());
      return grpoLossReference({ logp: f.logp, entropy: f.entropy, oldLogp, refLogp, advantages, lossMask: batch.lossMask }, opts);
    };
    // the point is smooth: no ratio within 1e-3 of a clip boundary
    const ratios = cur.logp.flatMap((r, b) => r.map((x, t) => (batch.lossMask[b][t] ? Math.exp(x - oldLogp[b][t]) : 1)));
    for (const r of ratios) expect(Math.min(Math.abs(r - 0.8), Math.abs(r - 1.2))).toBeGreaterThan(1e-3);
    expect(loss64().clipFrac).toBeGreaterThan(0);

    const g = computeGrads(model.params, [
      () => {
        const { logprobs, entropy } = model.tokenLogprobs({ inputIds: ids, B, T: L, attentionMask: attn });
        return grpoLoss(
          {
            logp: logprobs,
            entropy,
            oldLogp: tf.tensor2d(oldLogp),
            refLogp: tf.tensor2d(refLogp),
            advantages: tf.tensor2d(advantages, [B, 1]),
            lossMask: tf.tensor2d(batch.lossMask),
          },
          opts,
        ).loss;
      },
    ]);
    expect(g.loss).toBeCloseTo(loss64().loss, 4);

    let checked = 0;
    let nonzero = 0;
    for (const [name, v] of model.params) {
      const grad = g.grads.get(name)!.dataSync();
      const base = Float32Array.from(v.dataSync());
      for (let k = 0; k < 3; k++) {
        const i = rng.int(base.length);
        const at = (x: number) => {
          const d = base.slice();
          d[i] = x;
          v.assign(tf.tensor(d, v.shape));
          return loss64().loss;
        };
        const hi = Math.fround(base[i] + 1e-3);
        const lo = Math.fround(base[i] - 1e-3);
        const fd = (at(hi) - at(lo)) / (hi - lo);
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(grad[i] - fd), `${name}[${i}]: autograd ${grad[i]} vs finite difference ${fd}`).toBeLessThan(3e-4 + 3e-3 * Math.abs(fd));
        checked++;
        if (Math.abs(fd) > 1e-3) nonzero++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3 * 10);
    expect(nonzero).toBeGreaterThan(checked / 2); // the check is not vacuous
    tf.dispose([...g.grads.values()]);
    model.dispose();
  });
});
