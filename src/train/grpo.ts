/**
 * @module train/grpo — GRPO's algorithm as pure functions, no I/O (verl `core_algos.py` style; Shao et al. 2024,
 * DeepSeekMath, arXiv 2402.03300, as used by ReSearch, arXiv 2503.19470): group-normalised advantages, the PPO
 * clipped surrogate, the k3 "low_var_kl" estimator, the entropy bonus and loss aggregation. Each tfjs function has a
 * plain-loop float64 twin in `grpo-reference.ts`, tested to agree.
 *
 * Shapes: B sequences in a (micro-)batch, T response positions (padded), G rollouts per prompt.
 */
import * as tf from "@tensorflow/tfjs";
import { mean, std } from "../util/stats.js";

/**
 * Group-relative advantages: rewards are laid out group after group (G consecutive rollouts of one prompt);
 * A_i = (r_i − mean(r_group)) / (std(r_group) + eps), std with Bessel's correction as `torch.std`.
 * A group of one has std NaN in torch; verl then uses mean 0, std 1 — we do the same (A_i = r_i).
 */
export function groupAdvantages(rewards: number[], groupSize: number, eps = 1e-6): number[] {
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`groupSize must be a positive integer, got ${groupSize}`);
  if (rewards.length % groupSize !== 0)
    throw new Error(`rewards.length ${rewards.length} is not a multiple of groupSize ${groupSize}`);
  const out = new Array<number>(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    const group = rewards.slice(g, g + groupSize); // (G,)
    if (groupSize === 1) {
      out[g] = group[0];
      continue;
    }
    if (group.every((r) => r === group[0])) {
      // exactly 0 (summation rounding would leave ±1e-11): no signal from a group that all scored alike
      for (let i = 0; i < groupSize; i++) out[g + i] = 0;
      continue;
    }
    const m = mean(group);
    const s = std(group); // Bessel
    for (let i = 0; i < groupSize; i++) out[g + i] = (group[i] - m) / (s + eps);
  }
  return out;
}

/** How per-token losses become one number (verl `agg_loss`). The paper (and the issue) use "token-mean". */
export type LossAggMode = "token-mean" | "seq-mean-token-sum" | "seq-mean-token-mean";
export const LOSS_AGG_MODES: readonly LossAggMode[] = ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean"];

/**
 * Aggregate a (B, T) per-token loss under `mask` (1 = counted). `normalizer` replaces the denominator so that
 * gradient accumulation over micro-batches equals one big batch: for "token-mean" pass the number of unmasked
 * tokens in the whole mini-batch; for the seq-mean modes pass the number of sequences in the mini-batch.
 */
export function aggregateLoss(perToken: tf.Tensor2D, mask: tf.Tensor2D, mode: LossAggMode, normalizer?: number): tf.Scalar {
  return tf.tidy(() => {
    const masked = tf.mul(perToken, mask); // (B, T)
    switch (mode) {
      case "token-mean": {
        const denom = normalizer ?? Math.max(1, sumOf(mask));
        return tf.div(tf.sum(masked), denom) as tf.Scalar;
      }
      case "seq-mean-token-sum": {
        const perSeq = tf.sum(masked, 1); // (B,)
        return tf.div(tf.sum(perSeq), normalizer ?? perToken.shape[0]) as tf.Scalar;
      }
      case "seq-mean-token-mean": {
        const perSeq = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1)); // (B,)
        return tf.div(tf.sum(perSeq), normalizer ?? perToken.shape[0]) as tf.Scalar;
      }
    }
  });
}

function sumOf(t: tf.Tensor): number {
  return tf.tidy(() => tf.sum(t).dataSync()[0]);
}

/**
 * PPO clipped surrogate per token (verl `compute_policy_loss`):
 *   ratio = exp(logp − oldLogp);  L = max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)).
 * Returns the per-token loss (B, T) and a (B, T) 0/1 tensor "the clipped branch was taken" (for clip_frac).
 */
export function policyLoss(
  logp: tf.Tensor2D, // (B, T) log π_θ(token), differentiable
  oldLogp: tf.Tensor2D, // (B, T) log π_old(token), constant
  advantages: tf.Tensor2D, // (B, 1) or (B, T)
  clipRatio: number, // ε
): { perToken: tf.Tensor2D; clipped: tf.Tensor2D } {
  return tf.tidy(() => {
    const ratio = tf.exp(tf.sub(logp, oldLogp)); // (B, T)
    const unclipped = tf.neg(tf.mul(advantages, ratio)); // (B, T)
    const clippedLoss = tf.neg(tf.mul(advantages, tf.clipByValue(ratio, 1 - clipRatio, 1 + clipRatio))); // (B, T)
    const perToken = tf.maximum(unclipped, clippedLoss) as tf.Tensor2D;
    const clipped = tf.cast(tf.greater(clippedLoss, unclipped), "float32") as tf.Tensor2D;
    return { perToken, clipped };
  });
}

/** Inner clamp on log(ref/π) before exp, as verl does, so exp never overflows float32 (and gradients stay finite). */
export const KL_LOG_RATIO_CLAMP = 20;
/** Outer clamp on the k3 estimate (issue 7 / verl): [−10, 10]. */
export const KL_CLAMP = 10;

/**
 * k3 "low_var_kl" estimator of KL(π_θ ‖ π_ref) per token (Schulman's approximations; verl `kl_penalty`):
 *   d = ref − logp;  kl = exp(d) − d − 1, clamped to [−10, 10]. Exactly 0 where logp = ref.
 */
export function lowVarKl(logp: tf.Tensor2D, refLogp: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const d = tf.clipByValue(tf.sub(refLogp, logp), -KL_LOG_RATIO_CLAMP, KL_LOG_RATIO_CLAMP); // (B, T)
    const kl = tf.sub(tf.sub(tf.exp(d), d), 1); // (B, T)
    return tf.clipByValue(kl, -KL_CLAMP, KL_CLAMP) as tf.Tensor2D;
  });
}

export interface GrpoLossInputs {
  logp: tf.Tensor2D; // (B, T) current policy log-probs of the sampled tokens (differentiable)
  oldLogp: tf.Tensor2D; // (B, T) log-probs under the policy that generated them (constant)
  refLogp?: tf.Tensor2D; // (B, T) frozen reference log-probs; omit when klCoef = 0
  entropy?: tf.Tensor2D; // (B, T) per-position entropy of π_θ (differentiable); omit when entropyCoef = 0
  advantages: tf.Tensor2D; // (B, 1) or (B, T): one advantage per sequence, the same on every token
  lossMask: tf.Tensor2D; // (B, T) 1 = token generated by the policy and trained on
}

export interface GrpoLossOptions {
  clipRatio: number; // ε = 0.2 (PPO / ReSearch)
  klCoef: number; // 0.001 (ReSearch)
  entropyCoef: number; // 0.001 (ReSearch)
  lossAgg: LossAggMode;
  /** Denominator for the whole mini-batch (see aggregateLoss); default: this batch alone. */
  normalizer?: number;
  /** Unmasked tokens of the whole mini-batch, for the token-mean statistics (clipFrac, approxKl). */
  tokenNormalizer?: number;
}

export interface GrpoLossParts {
  /** pg − entropyCoef·entropy + klCoef·kl, aggregated: the scalar to differentiate. */
  loss: tf.Scalar;
  pgLoss: tf.Scalar;
  kl: tf.Scalar;
  entropy: tf.Scalar;
  /** Share of unmasked tokens where the clipped branch was taken (a token mean in every aggregation mode). */
  clipFrac: tf.Scalar;
  /** Token mean of (oldLogp − logp) over the mask: verl's ppo_kl, how far the update has moved. */
  approxKl: tf.Scalar;
}

/** The full GRPO objective for one (micro-)batch, written as in the paper: L = L_clip − β_H·H + β_KL·KL. */
export function grpoLoss(x: GrpoLossInputs, o: GrpoLossOptions): GrpoLossParts {
  return tf.tidy(() => {
    const agg = (t: tf.Tensor2D) => aggregateLoss(t, x.lossMask, o.lossAgg, o.normalizer);
    const { perToken, clipped } = policyLoss(x.logp, x.oldLogp, x.advantages, o.clipRatio);
    const pgLoss = agg(perToken);
    const zero = tf.scalar(0);
    const entropy = x.entropy ? agg(x.entropy) : zero;
    if (o.klCoef !== 0 && !x.refLogp) throw new Error("grpoLoss: klCoef ≠ 0 needs refLogp");
    const kl = x.refLogp ? agg(lowVarKl(x.logp, x.refLogp)) : zero;
    let loss = pgLoss;
    if (o.entropyCoef !== 0) {
      if (!x.entropy) throw new Error("grpoLoss: entropyCoef ≠ 0 needs entropy");
      loss = tf.sub(loss, tf.mul(o.entropyCoef, entropy));
    }
    if (o.klCoef !== 0) loss = tf.add(loss, tf.mul(o.klCoef, kl));
    // statistics are token means whatever the loss aggregation (verl: masked_mean)
    const tokenMean = (t: tf.Tensor2D) => aggregateLoss(t, x.lossMask, "token-mean", o.tokenNormalizer ?? (o.lossAgg === "token-mean" ? o.normalizer : undefined));
    const clipFrac = tokenMean(clipped);
    const approxKl = tokenMean(tf.sub(x.oldLogp, x.logp) as tf.Tensor2D);
    return { loss: loss as tf.Scalar, pgLoss, kl, entropy, clipFrac, approxKl };
  });
}
