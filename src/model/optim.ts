/**
 * @module model/optim — gradients with micro-batch accumulation, global-norm clipping and AdamW (Loshchilov & Hutter,
 * "Decoupled Weight Decay Regularization", 2019; the PyTorch `torch.optim.AdamW` update, bias-corrected), with the
 * optimizer state exported as a WeightMap so it can be saved beside the model weights.
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { WeightMap } from "./weights.js";
import { fusedAdamW } from "../tensor/adamw-kernel.js";

/** Parameters or gradients keyed by the model's stable parameter names (TrainableModel.params keys). */
export type NamedTensors<T extends tf.Tensor = tf.Tensor> = Map<string, T>;

export interface GradResult {
  /** Sum of the micro-batch losses. */
  loss: number;
  /** Summed gradients (one entry per parameter that received a gradient); the caller owns (disposes) them. */
  grads: NamedTensors;
  /** Global L2 norm of all gradients, before any clipping. */
  gradNorm: number;
  /** false when the loss or any gradient is NaN or ±Inf: do not apply this update. */
  finite: boolean;
}

/**
 * Gradients of Σ_k lossFns[k]() w.r.t. the trainable params, one micro-batch at a time (peak memory of one
 * micro-batch). Each lossFn returns its share of the total loss (e.g. summed token losses / total tokens of the
 * whole batch), so the accumulated gradient equals the full-batch gradient.
 */
export function computeGrads(params: NamedTensors<tf.Variable>, lossFns: Array<() => tf.Scalar>): GradResult {
  const vars = [...params.entries()].filter(([, v]) => v.trainable);
  const keyOf = new Map(vars.map(([k, v]) => [v.name, k]));
  const grads: NamedTensors = new Map();
  let loss = 0;
  for (const f of lossFns) {
    const { value, grads: g } = tf.variableGrads(() => {
      const l = f();
      if (l.rank !== 0) throw new Error(`computeGrads: a loss function returned shape [${l.shape}], expected a scalar`);
      return l;
    }, vars.map(([, v]) => v));
    loss += value.dataSync()[0];
    value.dispose();
    for (const [name, t] of Object.entries(g)) {
      const key = keyOf.get(name)!;
      const prev = grads.get(key);
      if (prev) {
        grads.set(key, prev.add(t));
        tf.dispose([prev, t]);
      } else grads.set(key, t);
    }
  }
  const gradNorm = globalNorm(grads);
  return { loss, grads, gradNorm, finite: Number.isFinite(loss) && Number.isFinite(gradNorm) };
}

/** sqrt(Σ ‖g‖²) over all tensors (NaN/Inf propagate). */
export function globalNorm(grads: NamedTensors): number {
  if (grads.size === 0) return 0;
  return tf.tidy(() => tf.addN([...grads.values()].map((g) => g.square().sum())).sqrt().dataSync()[0]);
}

/**
 * Scale all gradients by min(1, maxNorm / (norm + 1e-6)) as torch.nn.utils.clip_grad_norm_ does. Returns the new
 * map (old tensors disposed when scaled) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: NamedTensors, maxNorm: number, norm = globalNorm(grads)): { grads: NamedTensors; norm: number } {
  const scale = maxNorm / (norm + 1e-6);
  if (!(scale < 1) || !Number.isFinite(norm)) return { grads, norm };
  const out: NamedTensors = new Map();
  for (const [k, g] of grads) {
    out.set(k, g.mul(scale));
    g.dispose();
  }
  return { grads: out, norm };
}

export const AdamWConfigSchema = z.object({
  lr: z.number().positive().default(1e-6).describe("learning rate (ReSearch / verl GRPO actor: 1e-6)"),
  beta1: z.number().min(0).max(1).default(0.9).describe("first-moment decay β1 (PyTorch AdamW default)"),
  beta2: z.number().min(0).max(1).default(0.999).describe("second-moment decay β2 (PyTorch AdamW default)"),
  eps: z.number().positive().default(1e-8).describe("ε added to √v̂ (PyTorch AdamW default)"),
  weightDecay: z.number().min(0).default(0.01).describe("decoupled weight decay λ: p ← p − lr·λ·p (PyTorch AdamW / verl: 0.01)"),
  decayOn: z
    .enum(["all", "matrices"])
    .default("all")
    .describe("which params decay: all (PyTorch AdamW on one param group) or matrices only (nanoGPT: no decay on norms/biases)"),
});
export type AdamWConfig = z.infer<typeof AdamWConfigSchema>;

export interface AdamW {
  readonly config: AdamWConfig;
  /** Number of updates applied so far (t in the bias correction). */
  readonly stepCount: number;
  /** Apply one update from gradients keyed like params; params without a gradient are left alone (as PyTorch). */
  update(grads: NamedTensors, lr?: number): void;
  /** Moments and step as F32 tensors: `exp_avg.<param>`, `exp_avg_sq.<param>`, `step` (shape [1]). Copies. */
  exportState(): WeightMap;
  /** Restore a state written by exportState (shapes checked against the params). */
  importState(state: WeightMap): void;
  dispose(): void;
}

export function createAdamW(params: NamedTensors<tf.Variable>, config: Partial<AdamWConfig> = {}): AdamW {
  const cfg = AdamWConfigSchema.parse(config);
  const m = new Map<string, tf.Variable>();
  const v = new Map<string, tf.Variable>();
  let t = 0;
  const moment = (store: Map<string, tf.Variable>, key: string) => {
    let s = store.get(key);
    if (!s) {
      const p = params.get(key)!;
      const zeros = tf.zerosLike(p);
      s = tf.variable(zeros, false);
      zeros.dispose();
      store.set(key, s);
    }
    return s;
  };
  const opt: AdamW = {
    config: cfg,
    get stepCount() {
      return t;
    },
    update(grads, lr = cfg.lr) {
      t += 1;
      const bc1 = 1 - Math.pow(cfg.beta1, t);
      const bc2 = 1 - Math.pow(cfg.beta2, t);
      for (const [key, g] of grads) {
        const p = params.get(key);
        if (!p) throw new Error(`AdamW: gradient for unknown parameter ${key}`);
        if (!tf.util.arraysEqual(p.shape, g.shape)) throw new Error(`AdamW: gradient ${key} has shape [${g.shape}], param [${p.shape}]`);
        const mk = moment(m, key);
        const vk = moment(v, key);
        const decay = cfg.decayOn === "all" || p.rank >= 2 ? cfg.weightDecay : 0;
        const fused = fusedAdamW(p, g, mk, vk, { lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, decay, bc1, bc2 });
        if (fused) {
          const [pNew, mNew, vNew] = fused;
          p.assign(pNew);
          mk.assign(mNew);
          vk.assign(vNew);
          tf.dispose(fused);
          continue;
        }
        tf.tidy(() => {
          const mNew = mk.mul(cfg.beta1).add(g.mul(1 - cfg.beta1)); // m ← β1·m + (1−β1)·g
          const vNew = vk.mul(cfg.beta2).add(g.square().mul(1 - cfg.beta2)); // v ← β2·v + (1−β2)·g²
          const denom = vNew.sqrt().div(Math.sqrt(bc2)).add(cfg.eps); // √v̂ + ε
          const decayed = decay > 0 ? p.mul(1 - lr * decay) : p; // p ← p − lr·λ·p
          p.assign(decayed.sub(mNew.div(denom).mul(lr / bc1))); // p ← p − lr·m̂/(√v̂ + ε)
          mk.assign(mNew);
          vk.assign(vNew);
        });
      }
    },
    exportState() {
      const out: WeightMap = new Map();
      for (const [prefix, store] of [["exp_avg", m], ["exp_avg_sq", v]] as const)
        for (const [key, s] of store) out.set(`${prefix}.${key}`, { shape: s.shape.slice(), data: s.dataSync().slice() as Float32Array });
      out.set("step", { shape: [1], data: new Float32Array([t]) });
      return out;
    },
    importState(state) {
      const step = state.get("step");
      if (!step || step.data.length !== 1) throw new Error("optimizer state: missing scalar tensor `step`");
      for (const [name, s] of state) {
        if (name === "step") continue;
        const dot = name.indexOf(".");
        const prefix = name.slice(0, dot);
        const key = name.slice(dot + 1);
        const store = prefix === "exp_avg" ? m : prefix === "exp_avg_sq" ? v : undefined;
        if (!store) throw new Error(`optimizer state: unexpected tensor ${name}`);
        const p = params.get(key);
        if (!p) throw new Error(`optimizer state: ${name} names no parameter of this model`);
        if (!tf.util.arraysEqual(p.shape, s.shape)) throw new Error(`optimizer state: ${name} has shape [${s.shape}], param [${p.shape}]`);
        tf.tidy(() => moment(store, key).assign(tf.tensor(s.data, s.shape)));
      }
      t = step.data[0];
    },
    dispose() {
      for (const s of [...m.values(), ...v.values()]) s.dispose();
      m.clear();
      v.clear();
    },
  };
  return opt;
}
