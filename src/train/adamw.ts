/**
 * @module train/adamw — AdamW (Loshchilov & Hutter, decoupled weight decay) with exactly `torch.optim.AdamW`'s update,
 * over tfjs variables, with its full state (moments + step count) exportable as tensors for checkpoints.
 *   p ← p·(1 − lr·λ);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
 */
import * as tf from "@tensorflow/tfjs-core";
import type { WeightMap } from "../model/weights.js";
import type { TrainOptimizer } from "./trainer.js";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * `params`: the model's parameters under stable names (TrainableModel.params), which key the saved state, so a
 * checkpoint restores into a fresh process whatever tfjs named the variables. Gradients come keyed by variable name.
 */
export function createAdamW(params: Map<string, tf.Variable>, o: AdamWOptions): TrainOptimizer & { readonly t: number; dispose(): void } {
  const byVar = new Map([...params].map(([stable, p]) => [p.name, { stable, p }]));
  const m = new Map<string, tf.Variable>(); // stable name → first moment
  const v = new Map<string, tf.Variable>(); // stable name → second moment
  for (const [stable, p] of params) {
    m.set(stable, tf.variable(tf.zerosLike(p), false));
    v.set(stable, tf.variable(tf.zerosLike(p), false));
  }
  let t = 0;
  return {
    get t() {
      return t;
    },
    applyGradients(grads, lr) {
      t++;
      const bc1 = 1 - o.beta1 ** t;
      const bc2 = 1 - o.beta2 ** t;
      tf.tidy(() => {
        for (const [name, g] of Object.entries(grads)) {
          const found = byVar.get(name);
          if (!found) throw new Error(`AdamW: gradient for unknown variable ${name}`);
          const { stable, p } = found;
          const mi = m.get(stable)!;
          const vi = v.get(stable)!;
          mi.assign(tf.add(tf.mul(mi, o.beta1), tf.mul(g, 1 - o.beta1)));
          vi.assign(tf.add(tf.mul(vi, o.beta2), tf.mul(tf.square(g), 1 - o.beta2)));
          const decayed = o.weightDecay ? tf.mul(p, 1 - lr * o.weightDecay) : p;
          const denom = tf.add(tf.div(tf.sqrt(vi), Math.sqrt(bc2)), o.eps);
          p.assign(tf.sub(decayed, tf.mul(tf.div(mi, denom), lr / bc1)));
        }
      });
    },
    getState() {
      const tensors: WeightMap = new Map();
      for (const [name, mi] of m) {
        tensors.set(`m/${name}`, { shape: mi.shape, data: mi.dataSync() as Float32Array });
        tensors.set(`v/${name}`, { shape: mi.shape, data: v.get(name)!.dataSync() as Float32Array });
      }
      return { tensors, scalars: { t } };
    },
    setState(s) {
      for (const [name, mi] of m) {
        for (const [kind, target] of [["m", mi], ["v", v.get(name)!]] as const) {
          const saved = s.tensors.get(`${kind}/${name}`);
          if (!saved) throw new Error(`optimizer state has no ${kind}/${name}`);
          if (saved.shape.join() !== target.shape.join()) throw new Error(`optimizer state ${kind}/${name}: shape [${saved.shape}] vs variable [${target.shape}]`);
          target.assign(tf.tensor(saved.data, saved.shape));
        }
      }
      t = s.scalars.t ?? 0;
    },
    dispose() {
      for (const x of [...m.values(), ...v.values()]) x.dispose();
    },
  };
}
