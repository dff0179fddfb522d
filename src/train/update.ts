/**
 * @module train/update — steps 4 and 5 of the GRPO loop: lay the step's rollouts out as mini-batches of
 * micro-batches, compute the log-probs the loss needs before any update (π_old, π_ref), then per mini-batch
 * accumulate the GRPO loss gradient over its micro-batches (bounded memory), skip it if NaN/Inf, clip the global
 * norm and apply AdamW.
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenBatch, TrainableModel } from "../model/trainable.js";
import { clipByGlobalNorm, computeGrads, type AdamW } from "../model/optim.js";
import type { TrainConfig } from "./config.js";
import { grpoLoss, type LossAggMode } from "./grpo.js";
import { buildTrainBatch, microBatches, responseLossMask, type TrainBatch, type TrainSequence } from "./batch.js";

/** One rollout to train on: its tokens and loss mask, its advantage, and the sampler's log-probs when known. */
export interface UpdateRow {
  seq: TrainSequence;
  adv: number;
  /** Per response token, NaN on tool tokens; null when the backend gave none. */
  rolloutLogp: number[] | null;
}

export interface MicroBatch {
  /** Row indices, in layout order. */
  idx: number[];
  batch: TrainBatch;
  ids: Int32Array; // (B, L)
  mask: Float32Array; // (B, L) attention mask: 1 = real token
  oldLogp?: tf.Tensor2D; // (B, L−1) π_old, only for mini-batches after the first
  refLogp?: tf.Tensor2D; // (B, L−1) π_ref, only when klCoef > 0
}

/** One optimizer update: its micro-batches and the loss denominators of all its rows (skipped ones included). */
interface MiniBatch {
  parts: MicroBatch[];
  /** aggregateLoss denominator over every row of the mini-batch (see normalizerOf). */
  normalizer: number;
  /** Trained tokens of every row of the mini-batch, for the token-mean statistics. */
  tokenNormalizer: number;
  /** `normalizer` over the rows actually run (differs only with skipZeroAdvantage). */
  keptNormalizer: number;
}

export interface UpdatePlan {
  minis: MiniBatch[];
  /** Tokens the backward trained on (the rows run). */
  trainedTokens: number;
  /** Rows left out because their advantage is 0 (skipZeroAdvantage). */
  skippedRows: number;
  dispose(): void;
}

export interface UpdateResult {
  stats: { loss: number; pg: number; kl: number; ent: number; clip: number; akl: number; gnorm: number };
  lpDiff: { sum: number; n: number };
  skipReason?: string;
  backwardMs: number;
  optimMs: number;
}

/** Denominator making micro-batch losses add up to the mini-batch loss (see grpo.aggregateLoss). */
function normalizerOf(mode: LossAggMode, rowTokens: number[]): number {
  if (mode === "token-mean") return Math.max(1, rowTokens.reduce((a, b) => a + b, 0));
  return rowTokens.length;
}

/** A step's layout: per mini-batch, its micro-batches (row indices) and its loss denominators. Pure: shared by the
 *  in-process update below and the Tinker client (train/tinker-client.ts), which sends the same micro-batches. */
export interface UpdateLayout {
  minis: Array<{ micro: number[][]; normalizer: number; tokenNormalizer: number; keptNormalizer: number }>;
  skippedRows: number;
}

export function layoutUpdate(rows: UpdateRow[], cfg: TrainConfig, eosId: number | null): UpdateLayout {
  const miniSize = Math.max(1, Math.ceil(rows.length / cfg.updatesPerStep));
  const lengthOf = (r: number) => rows[r].seq.promptIds.length + rows[r].seq.responseIds.length;
  const rowTokens = rows.map((r) => responseLossMask(r.seq, eosId).reduce((a, b) => a + b, 0)); // trained tokens per row
  const tokensOf = (r: number) => rowTokens[r];
  let skippedRows = 0;
  const minis = microBatches(rows.length, miniSize).map((idx) => {
    // A row whose advantage is 0 adds nothing to the policy gradient; with skipZeroAdvantage it is not run, but its
    // tokens still count in the denominators, so the other rows' gradient is the same as with it.
    const allTokens = idx.map(tokensOf);
    const kept = cfg.skipZeroAdvantage ? idx.filter((r) => rows[r].adv !== 0) : idx;
    skippedRows += idx.length - kept.length;
    // within a mini-batch, micro-batches take rows of similar length (longest first): less padding, same loss
    const byLength = [...kept].sort((a, b) => lengthOf(b) - lengthOf(a) || a - b);
    return {
      micro: microBatches(byLength.length, cfg.microBatchSize).map((mb) => mb.map((k) => byLength[k])),
      normalizer: normalizerOf(cfg.lossAgg, allTokens),
      tokenNormalizer: normalizerOf("token-mean", allTokens),
      keptNormalizer: normalizerOf(cfg.lossAgg, kept.map(tokensOf)),
    };
  });
  return { minis, skippedRows };
}

/** What planUpdate needs of a policy: log-probs of a padded batch (no gradient needed). The tfjs TrainableModel and
 *  the ggml policy (through `ggmlLogprobSource`) both give them. */
export interface LogprobSource {
  tokenLogprobs(batch: TokenBatch): { logprobs: tf.Tensor2D };
}

/** 4) Mini-/micro-batch layout and the log-probs needed before any update. */
export function planUpdate(rows: UpdateRow[], cfg: TrainConfig, deps: { policy: LogprobSource; reference?: LogprobSource; eosId: number | null }): UpdatePlan {
  const lengthOf = (r: number) => rows[r].seq.promptIds.length + rows[r].seq.responseIds.length;
  // Micro-batches of the first mini-batch are updated before any optimizer step, so π_old = π_θ there: their old
  // log-probs are taken from the update's own forward (as constants), saving a forward pass. Later mini-batches
  // (updatesPerStep > 1) need the pre-update values, computed here.
  const layout = layoutUpdate(rows, cfg, deps.eosId);
  const minis = layout.minis.map(({ micro, normalizer, tokenNormalizer, keptNormalizer }, m): MiniBatch => {
    const parts = micro.map((rowIdx): MicroBatch => {
      const batch = buildTrainBatch(rowIdx.map((r) => rows[r].seq), deps.eosId);
      const ids = Int32Array.from(batch.tokens.flat());
      const mask = Float32Array.from(batch.tokens.flatMap((row, b) => row.map((_, j) => (j < lengthOf(rowIdx[b]) ? 1 : 0))));
      const lp = (model: LogprobSource) => tf.tidy(() => model.tokenLogprobs({ inputIds: ids, B: batch.B, T: batch.L, attentionMask: mask, temperature: cfg.temperature }).logprobs);
      return { idx: rowIdx, batch, ids, mask, oldLogp: m > 0 ? lp(deps.policy) : undefined, refLogp: deps.reference ? lp(deps.reference) : undefined };
    });
    return { parts, normalizer, tokenNormalizer, keptNormalizer };
  });
  const skippedRows = layout.skippedRows;
  const parts = minis.flatMap((m) => m.parts);
  return {
    minis,
    trainedTokens: parts.reduce((a, m) => a + m.batch.trainTokens, 0),
    skippedRows,
    dispose: () => {
      for (const m of parts) tf.dispose([m.oldLogp, m.refLogp].filter((t): t is tf.Tensor2D => t !== undefined));
    },
  };
}

/**
 * A micro-batch's GRPO loss as a function of its log-probs and entropies (train/grpo.ts, the spec). With `record`,
 * its parts are added to the running statistics (and π_old is compared with the sampler's log-probs).
 */
export type MicroLoss = (p: MicroBatch, logprobs: tf.Tensor2D, entropy: tf.Tensor2D, record: boolean) => tf.Scalar;

/** How one mini-batch's gradient is made and applied: tfjs autodiff over the TrainableModel, or ggml (below). */
export interface GradientEngine {
  /** Accumulate the gradient of Σ_parts loss(part) from zero; returns the summed loss, gradient norm and finiteness. */
  gradients(parts: MicroBatch[], loss: MicroLoss, temperature: number): { loss: number; gradNorm: number; finite: boolean };
  /** Apply the accumulated gradient (clipped to `maxNorm` by global norm) with AdamW at lr. */
  apply(maxNorm: number, lr: number): void;
  /** Drop the accumulated gradient (a non-finite update). */
  discard(): void;
}

/** The tfjs engine: tf.variableGrads through the TrainableModel, clipByGlobalNorm, model/optim.ts AdamW. */
export function tfjsGradients(deps: { policy: TrainableModel; optimizer: AdamW }): GradientEngine {
  let g: ReturnType<typeof computeGrads> | null = null;
  return {
    gradients(parts, loss, temperature) {
      g = computeGrads(
        deps.policy.params,
        parts.map((p) => () => {
          const { logprobs, entropy } = deps.policy.tokenLogprobs({ inputIds: p.ids, B: p.batch.B, T: p.batch.L, attentionMask: p.mask, temperature });
          return loss(p, logprobs, entropy, true);
        }),
      ); // summed over micro-batches
      return { loss: g.loss, gradNorm: g.gradNorm, finite: g.finite };
    },
    apply(maxNorm, lr) {
      const clipped = clipByGlobalNorm(g!.grads, maxNorm, g!.gradNorm).grads;
      deps.optimizer.update(clipped, lr);
      tf.dispose([...clipped.values()]);
      g = null;
    },
    discard() {
      if (g) tf.dispose([...g.grads.values()]);
      g = null;
    },
  };
}

/** Running sums of a mini-batch's loss parts (train/update.ts runUpdate, train/tinker-client.ts). */
export interface LossParts {
  loss: number;
  pg: number;
  kl: number;
  ent: number;
  clip: number;
  akl: number;
}

/** The GRPO MicroLoss of one mini-batch (the spec, train/grpo.ts); with `record` it adds to `part` and compares
 *  π_old with the sampler's log-probs into `res.lpDiff`. Shared by runUpdate and the Tinker client. */
export function microLossOf(rows: UpdateRow[], cfg: TrainConfig, res: UpdateResult, part: LossParts, normalizer: number, tokenNormalizer: number): MicroLoss {
  /** On-policy check: |log π_old − the sampler's log-prob| over trained tokens (same weights, two engines). */
  const compareWithRollout = (p: MicroBatch, old: tf.Tensor2D) => {
    if (cfg.topP < 1) return; // the sampler's log-probs are then of another (renormalised) distribution
    const data = old.dataSync();
    const T = p.batch.L - 1;
    p.idx.forEach((r, b) => {
      const ref = rows[r].rolloutLogp;
      if (!ref) return;
      const P = rows[r].seq.promptIds.length;
      for (let i = 0; i < ref.length; i++)
        if (p.batch.lossMask[b][P + i - 1] && Number.isFinite(ref[i])) {
          res.lpDiff.sum += Math.abs(data[b * T + P + i - 1] - ref[i]);
          res.lpDiff.n++;
        }
    });
  };
  return (p, logprobs, entropy, record) => {
    const adv = tf.tensor2d(p.idx.map((r) => rows[r].adv), [p.batch.B, 1]); // (B, 1)
    const lossMask = tf.tensor2d(p.batch.lossMask); // (B, T)
    const oldLogp = p.oldLogp ?? (tf.tensor2d(logprobs.dataSync() as Float32Array, logprobs.shape) as tf.Tensor2D);
    if (record) compareWithRollout(p, oldLogp);
    const r = grpoLoss(
      { logp: logprobs, oldLogp, refLogp: p.refLogp, entropy, advantages: adv, lossMask },
      { clipRatio: cfg.clipRatio, klCoef: cfg.klCoef, entropyCoef: cfg.entropyCoef, lossAgg: cfg.lossAgg, normalizer, tokenNormalizer },
    );
    if (record) {
      part.loss += r.loss.dataSync()[0];
      part.pg += r.pgLoss.dataSync()[0];
      part.kl += r.kl.dataSync()[0];
      part.ent += r.entropy.dataSync()[0];
      part.clip += r.clipFrac.dataSync()[0];
      part.akl += r.approxKl.dataSync()[0];
    }
    return r.loss;
  };
}

/** 5) One optimizer update per mini-batch; stops at the first non-finite one (the step is then skipped). */
export function runUpdate(plan: UpdatePlan, rows: UpdateRow[], cfg: TrainConfig, deps: { policy: TrainableModel; optimizer: AdamW } | { engine: GradientEngine }, lr: number): UpdateResult {
  const engine = "engine" in deps ? deps.engine : tfjsGradients(deps);
  const now = () => performance.now();
  const res: UpdateResult = { stats: { loss: 0, pg: 0, kl: 0, ent: 0, clip: 0, akl: 0, gnorm: 0 }, lpDiff: { sum: 0, n: 0 }, backwardMs: 0, optimMs: 0 };
  const nMinis = plan.minis.length;
  for (const { parts, normalizer, tokenNormalizer, keptNormalizer } of plan.minis) {
    if (parts.length === 0) continue; // every row skipped (one reward per group): no gradient, no update
    const tb = now();
    const part = { loss: 0, pg: 0, kl: 0, ent: 0, clip: 0, akl: 0 };
    const loss = microLossOf(rows, cfg, res, part, normalizer, tokenNormalizer);
    const g = engine.gradients(parts, loss, cfg.temperature);
    res.backwardMs += now() - tb;
    const to = now();
    // entropy and KL are reported as means over the rows run (the loss divides them by every row's count)
    part.ent *= normalizer / keptNormalizer;
    part.kl *= normalizer / keptNormalizer;
    for (const key of Object.keys(part) as (keyof typeof part)[]) res.stats[key] += part[key] / nMinis;
    res.stats.gnorm += g.gradNorm / nMinis;
    if (!g.finite) {
      res.skipReason = `non-finite ${Number.isFinite(g.loss) ? "gradient" : "loss"}`;
      engine.discard();
    } else engine.apply(cfg.gradClip, lr);
    res.optimMs += now() - to;
    if (res.skipReason) break;
  }
  return res;
}
