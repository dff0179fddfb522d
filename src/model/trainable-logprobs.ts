/**
 * @module model/trainable-logprobs — log p(target) and entropy from logits in one op with a hand-written gradient,
 * so the (N, V) softmax is computed once and the backward is two elementwise passes:
 *   lp = z_y − logsumexp(z)            ∂lp/∂z = onehot(y) − p
 *   H  = −Σ p·log p                    ∂H/∂z  = −p·(log p + H)
 */
import * as tf from "@tensorflow/tfjs";

/** logits (N, V), targets (N) → [logprob of target (N), entropy (N)]. Differentiable w.r.t. the logits. */
export function tokenLogprobsAndEntropy(logits: tf.Tensor2D, targets: Int32Array): [tf.Tensor1D, tf.Tensor1D] {
  const [N, V] = logits.shape;
  if (targets.length !== N) throw new Error(`tokenLogprobsAndEntropy: ${targets.length} targets for ${N} rows`);
  const flatIdx = new Int32Array(N);
  for (let n = 0; n < N; n++) flatIdx[n] = n * V + targets[n];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const logp = tf.logSoftmax(z); // (N, V)
    const lp = tf.gather(logp.reshape([N * V]), tf.tensor1d(flatIdx, "int32")); // (N)
    const ent = tf.exp(logp).mul(logp).sum(-1).neg(); // (N)
    save([logp, ent]);
    return {
      value: tf.stack([lp, ent], 1), // (N, 2)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [lg, h] = saved; // (N, V), (N)
        const [dlp, dh] = tf.unstack(dy, 1).map((t) => t.reshape([N, 1])); // (N, 1) each
        const prob = tf.exp(lg);
        // int32 then cast: tfjs-wasm 4.22 oneHot ignores dtype "float32" and returns all zeros.
        const onehot = tf.oneHot(tf.tensor1d(targets, "int32"), V).cast("float32"); // (N, V)
        // dz = dlp·(onehot − p) − dh·p·(log p + H)
        return onehot.mul(dlp).sub(prob.mul(dlp.add(dh.mul(lg.add(h.reshape([N, 1]))))));
      },
    };
  });
  const both = op(logits) as tf.Tensor2D; // (N, 2)
  const [lp, ent] = tf.unstack(both, 1) as [tf.Tensor1D, tf.Tensor1D];
  return [lp, ent];
}
