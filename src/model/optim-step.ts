/**
 * @module model/optim-step — one causal-LM training step (next-token cross-entropy under a loss mask) with micro-batch
 * gradient accumulation, clipping, NaN/Inf skipping and AdamW: what base-model pre-training needs.
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenBatch, TrainableModel } from "./trainable.js";
import { clipByGlobalNorm, computeGrads, type AdamW } from "./optim.js";

export interface LmBatch extends TokenBatch {
  /** (B, T) aligned with inputIds: 1 = token t is a target whose prediction is trained on. Token 0 of each row is
   * never a target. Default: every real token (attentionMask) after the first. Multiplied by the attention mask. */
  lossMask?: ArrayLike<number>;
}

/** Per-target weights (B, T−1): lossMask[b, t+1] · attentionMask[b, t+1]. */
export function targetWeights(batch: LmBatch): Float32Array {
  const { B, T, lossMask, attentionMask } = batch;
  const w = new Float32Array(B * (T - 1));
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T - 1; t++) {
      const i = b * T + t + 1;
      w[b * (T - 1) + t] = (lossMask ? Number(lossMask[i]) : 1) * (attentionMask ? Number(attentionMask[i]) : 1);
    }
  return w;
}

/** Σ −log p(target)·w / denom: the mean next-token NLL when denom = Σ w (default). */
export function causalLmLoss(model: TrainableModel, batch: LmBatch, denom?: number): tf.Scalar {
  return tf.tidy(() => {
    const w = targetWeights(batch);
    const d = denom ?? Math.max(1, w.reduce((a, b) => a + b, 0));
    const { logprobs } = model.tokenLogprobs(batch); // (B, T−1)
    return logprobs.mul(tf.tensor2d(w, [batch.B, batch.T - 1])).sum().neg().div(d) as tf.Scalar;
  });
}

export interface TrainStepOptions {
  /** Learning rate for this step (schedules pass it each step); default: the optimizer's. */
  lr?: number;
  /** Clip the global gradient norm to this (default 1.0); 0 or Infinity disables. */
  maxGradNorm?: number;
  /** Rows per micro-batch (default: the whole batch). The result equals the full-batch step. */
  microBatchSize?: number;
}

export interface TrainStepResult {
  /** Mean next-token NLL over the trained targets (nats). */
  loss: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** true when the loss or gradients were NaN/Inf: no update was applied. */
  skipped: boolean;
  /** Number of target tokens trained on. */
  tokens: number;
}

/** One optimizer step on `batch`. */
export function trainStep(model: TrainableModel, optimizer: AdamW, batch: LmBatch, opts: TrainStepOptions = {}): TrainStepResult {
  const { B, T } = batch;
  const tokens = targetWeights(batch).reduce((a, b) => a + b, 0);
  const denom = Math.max(1, tokens);
  const mb = Math.max(1, Math.min(B, opts.microBatchSize ?? B));
  const rows = (a: ArrayLike<number> | undefined, s: number, e: number) => (a ? Array.prototype.slice.call(a, s * T, e * T) : undefined);
  const lossFns: Array<() => tf.Scalar> = [];
  for (let s = 0; s < B; s += mb) {
    const e = Math.min(B, s + mb);
    const part: LmBatch = {
      inputIds: batch.inputIds.subarray(s * T, e * T),
      B: e - s,
      T,
      attentionMask: rows(batch.attentionMask, s, e),
      lossMask: rows(batch.lossMask, s, e),
    };
    lossFns.push(() => causalLmLoss(model, part, denom));
  }
  const { loss, grads, gradNorm, finite } = computeGrads(model.params, lossFns);
  if (!finite) {
    tf.dispose([...grads.values()]);
    return { loss, gradNorm, skipped: true, tokens };
  }
  const maxNorm = opts.maxGradNorm ?? 1.0;
  const clipped = maxNorm > 0 && Number.isFinite(maxNorm) ? clipByGlobalNorm(grads, maxNorm, gradNorm).grads : grads;
  optimizer.update(clipped, opts.lr);
  tf.dispose([...clipped.values()]);
  return { loss, gradNorm, skipped: false, tokens };
}
