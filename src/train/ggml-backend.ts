/**
 * @module train/ggml-backend — the in-process training backend on ggml (the default engine): the policy's weights
 * are the rollout engine's (one `GgmlWeights`, so publishing a new policy copies nothing), gradients come from ggml's
 * autodiff (ggml/train.ts) and the GRPO loss stays the tfjs spec of train/grpo.ts.
 *
 * A micro-batch's loss L depends on the parameters only through its log-probs lp and entropies H, so ggml runs the
 * backward of Σ (∂L/∂lp)·lp + (∂L/∂H)·H with the coefficients ∂L/∂(lp, H) taken by tf.grads of the same loss
 * function the tfjs engine differentiates (train/update.ts `MicroLoss`). When π_old is the policy itself (the first
 * mini-batch) and there is no KL term, those coefficients do not depend on lp and H (the ratio is exactly 1, the
 * entropy term is linear): one forward + backward. Otherwise a forward gives lp and H first, then the coefficients,
 * then the forward + backward.
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenBatch } from "../model/trainable.js";
import type { WeightMap } from "../model/weights.js";
import { GgmlAdamW, GgmlPolicy } from "../ggml/train.js";
import type { TrainingBackend } from "./backend.js";
import { planUpdate, runUpdate, type GradientEngine, type LogprobSource, type MicroBatch, type MicroLoss } from "./update.js";

/** The ggml policy as planUpdate's log-prob source (values as tf tensors). */
export function ggmlLogprobSource(policy: GgmlPolicy): LogprobSource {
  return {
    tokenLogprobs: (b: TokenBatch) => {
      const r = policy.logprobs(b);
      return { logprobs: tf.tensor2d(r.logprobs, [b.B, b.T - 1]) };
    },
  };
}

/** ∂loss/∂lp and ∂loss/∂H of one micro-batch at (lp, H), (B, T−1) each. */
export function lossCoefficients(p: MicroBatch, loss: MicroLoss, lp: Float32Array, ent: Float32Array): [Float32Array, Float32Array] {
  const shape: [number, number] = [p.batch.B, p.batch.L - 1];
  return tf.tidy(() => {
    // + 0·ΣH keeps H on the tape when the entropy coefficient is 0 (its gradient is then 0)
    const f = (a: tf.Tensor, b: tf.Tensor) => loss(p, a as tf.Tensor2D, b as tf.Tensor2D, false).add(tf.sum(b).mul(0)) as tf.Scalar;
    const [gLp, gEnt] = tf.grads(f)([tf.tensor2d(lp, shape), tf.tensor2d(ent, shape)]);
    return [gLp.dataSync() as Float32Array, gEnt.dataSync() as Float32Array];
  });
}

/** Gradients and AdamW on ggml (see the module comment). */
export function ggmlGradients(deps: { policy: GgmlPolicy; optimizer: GgmlAdamW }): GradientEngine {
  let norm = 0;
  return {
    gradients(parts, loss, temperature) {
      const { policy } = deps;
      policy.zeroGrad();
      let total = 0;
      for (const p of parts) {
        const tb = { inputIds: p.ids, B: p.batch.B, T: p.batch.L, attentionMask: p.mask, temperature };
        const n = p.batch.B * (p.batch.L - 1);
        const onePass = !p.oldLogp && !p.refLogp;
        const at = onePass ? { logprobs: new Float32Array(n), entropy: new Float32Array(n) } : policy.logprobs(tb);
        const [cLp, cEnt] = lossCoefficients(p, loss, at.logprobs, at.entropy);
        const got = policy.accumulate(tb, cLp, cEnt);
        total += tf.tidy(() => loss(p, tf.tensor2d(got.logprobs, [p.batch.B, p.batch.L - 1]), tf.tensor2d(got.entropy, [p.batch.B, p.batch.L - 1]), true).dataSync()[0]);
      }
      norm = policy.gradNorm();
      return { loss: total, gradNorm: norm, finite: Number.isFinite(total) && Number.isFinite(norm) };
    },
    apply(maxNorm, lr) {
      const scale = maxNorm / (norm + 1e-6); // torch.nn.utils.clip_grad_norm_
      deps.optimizer.update(lr, scale < 1 ? scale : 1);
    },
    discard() {
      deps.policy.zeroGrad();
    },
  };
}

/** The in-process backend on ggml: steps 4–5 through planUpdate/runUpdate with the ggml gradient engine. */
export function createGgmlBackend(deps: {
  policy: GgmlPolicy;
  reference?: GgmlPolicy;
  optimizer: GgmlAdamW;
  eosId: number | null;
  /** Called after load (the weights are shared with the rollout engine, so publishing needs no copy). */
  onLoad?(weights: WeightMap): void | Promise<void>;
}): TrainingBackend {
  const engine = ggmlGradients(deps);
  return {
    kind: "in-process",
    async update(rows, cfg, lr) {
      const t0 = performance.now();
      const plan = planUpdate(rows, cfg, { policy: ggmlLogprobSource(deps.policy), reference: deps.reference && ggmlLogprobSource(deps.reference), eosId: deps.eosId });
      const logprobsMs = performance.now() - t0;
      try {
        const u = runUpdate(plan, rows, cfg, { engine }, lr);
        return { ...u, trainedTokens: plan.trainedTokens, skippedRows: plan.skippedRows, logprobsMs };
      } finally {
        plan.dispose();
      }
    },
    publish: async () => {}, // generation reads the same tensors
    optimizerSteps: () => deps.optimizer.stepCount,
    save: async () => ({ weights: deps.policy.weights.export(), optimizer: deps.optimizer.exportState() }),
    async load(s) {
      deps.policy.weights.load(s.weights);
      deps.optimizer.importState(s.optimizer);
      await deps.onLoad?.(s.weights);
    },
  };
}

