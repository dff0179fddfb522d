/**
 * @module ggml/train — training on ggml: the per-token log-probabilities and entropies of a padded batch under the
 * one decoder of ggml/model.ts, their gradient by ggml's autodiff (`ggml_build_backward_expand`), accumulated over
 * micro-batches into persistent gradient tensors, the global gradient norm, and AdamW (`ggml_opt_step_adamw`, the
 * bias-corrected PyTorch update of model/optim.ts) on the weights in place. The weights are a `GgmlWeights`
 * shared with the generation engine (ggml/infer.ts), so rollouts read the trained tensors without a copy.
 *
 * The GRPO loss itself stays in TypeScript (train/grpo.ts, the readable spec): a micro-batch's loss is a function of
 * its log-probs lp and entropies H only, so its gradient reaches the parameters as
 *   ∂L/∂θ = Σ_t (∂L/∂lp_t)·∂lp_t/∂θ + (∂L/∂H_t)·∂H_t/∂θ,
 * i.e. the backward of the surrogate Σ_t c_lp,t·lp_t + c_H,t·H_t with the coefficients c = ∂L/∂(lp, H) computed by the
 * caller (train/update-ggml.ts) and fed in as constants.
 *
 * Graph of a micro-batch (row r = b·(T−1) + t predicts token t+1 of sequence b):
 *   h = decoder(ids)[rows t < T−1]          [D, N]
 *   p = softmax(lm_head·h / temperature)    [V, N]
 *   logp = log(p + 1e−30)                   (finite where p underflows: those tokens carry coefficient 0)
 *   lp = logp[target_r, r]                  [1, N]     (get_rows of the flattened logp)
 *   S  = Σ_v p·logp = −H                    [1, N]
 *   loss = Σ lp·c_lp + Σ S·(−c_H)
 */
import type { AdamWConfig } from "../model/optim.js";
import type { WeightMap } from "../model/weights.js";
import { UserError } from "../util/errors.js";
import koffi from "koffi";
import { GGML_TYPE_F32, GGML_TYPE_I32, compute, getF32, metaContext, setData, type Context, type GgmlRuntime, type Ptr, type Tensor } from "./lib.js";
import { Builder, GgmlWeights, batchGraph, setBatchInputs } from "./model.js";

/** A padded (B, T) batch of token ids; 1 = real token in `attentionMask` (default all ones). */
export interface GgmlTokenBatch {
  inputIds: Int32Array;
  B: number;
  T: number;
  attentionMask?: ArrayLike<number>;
  temperature?: number;
}

/** Per position t < T−1 of each row (B, T−1) row-major: log p(token t+1) and the entropy at t; 0 where token t or
 *  t+1 is padding (a padded query's output means nothing: it attends only to itself here). */
export interface GgmlLogprobs {
  logprobs: Float32Array;
  entropy: Float32Array;
}

const LOG_EPS = 1e-30;
const addr = (p: Ptr | null): bigint => (p ? BigInt(koffi.address(p)) : 0n);

/** Tensors allocated once in their own backend buffer. */
class Persistent {
  readonly ctx: Context;
  private buffer: Ptr | null = null;
  constructor(
    readonly rt: GgmlRuntime,
    maxTensors: number,
  ) {
    this.ctx = metaContext(rt, maxTensors);
  }
  like(t: Tensor, shape: number[], name: string): Tensor {
    const a = this.rt.api;
    const ne = [...shape].reverse();
    const x = ne.length === 1 ? a.ggml_new_tensor_1d(this.ctx, GGML_TYPE_F32, ne[0]) : a.ggml_new_tensor_2d(this.ctx, GGML_TYPE_F32, ne[0], ne[1]);
    a.ggml_set_name(x, name.slice(-63));
    void t;
    return x;
  }
  vec(n: number, name: string): Tensor {
    const x = this.rt.api.ggml_new_tensor_1d(this.ctx, GGML_TYPE_F32, n);
    this.rt.api.ggml_set_name(x, name);
    return x;
  }
  allocate(): void {
    this.buffer = this.rt.api.ggml_backend_alloc_ctx_tensors(this.ctx, this.rt.backend);
    if (!this.buffer) throw new Error("ggml: could not allocate training state on the backend");
    this.rt.api.ggml_backend_buffer_clear(this.buffer, 0);
  }
  clear(): void {
    if (this.buffer) this.rt.api.ggml_backend_buffer_clear(this.buffer, 0);
  }
  dispose(): void {
    if (this.buffer) this.rt.api.ggml_backend_buffer_free(this.buffer);
    this.buffer = null;
    this.rt.api.ggml_free(this.ctx);
  }
}

/**
 * A trainable policy on ggml: forward (log-probs, entropy), forward + backward into gradient accumulators, and the
 * gradients' global norm. `weights` may be shared with a GgmlInferenceModel.
 */
export class GgmlPolicy {
  readonly rt: GgmlRuntime;
  /** Gradient accumulator of each parameter (Hugging Face name → tensor of the same shape). */
  readonly grads = new Map<string, Tensor>();
  private readonly state: Persistent;
  private readonly one: Tensor; // the loss's seed gradient, 1
  private readonly paramAddr = new Map<bigint, string>();
  private galloc: Ptr | null = null;

  constructor(
    readonly weights: GgmlWeights,
    readonly trainable = true,
  ) {
    this.rt = weights.rt;
    this.state = new Persistent(this.rt, weights.shapes.length + 4);
    const a = this.rt.api;
    for (const [name, shape] of weights.shapes) {
      const t = weights.get(name);
      if (trainable) {
        a.ggml_set_param(t);
        this.grads.set(name, this.state.like(t, shape, `grad ${name}`));
      }
      this.paramAddr.set(addr(t), name);
    }
    this.one = this.state.vec(1, "loss seed");
    this.state.allocate();
    setData(this.rt, this.one, new Float32Array([1]));
  }

  /** Log-probs and entropy of a batch (no gradient). */
  logprobs(batch: GgmlTokenBatch): GgmlLogprobs {
    return this.run(batch, null);
  }

  /**
   * Forward + backward of Σ lp·cLp + Σ H·cEnt ((B, T−1) coefficients, 0 on padding), adding the parameters'
   * gradients into `grads`. Returns the forward's log-probs and entropies.
   */
  accumulate(batch: GgmlTokenBatch, cLp: Float32Array, cEnt: Float32Array): GgmlLogprobs {
    if (!this.trainable) throw new Error("GgmlPolicy: accumulate on a frozen policy");
    return this.run(batch, { cLp, cEnt });
  }

  /** Zero the gradient accumulators (and keep the loss seed at 1). */
  zeroGrad(): void {
    this.state.clear();
    setData(this.rt, this.one, new Float32Array([1]));
  }

  /** sqrt(Σ ‖g‖²) over the accumulators (NaN/Inf propagate), from per-tensor float32 sums of squares. */
  gradNorm(): number {
    const a = this.rt.api;
    const n = this.grads.size;
    const ctx = metaContext(this.rt, 4 * n + 8, 4 * n + 8);
    try {
      const gf = a.ggml_new_graph_custom(ctx, 4 * n + 8, false);
      const sums: Tensor[] = [];
      for (const g of this.grads.values()) {
        const s = a.ggml_sum(ctx, a.ggml_sqr(ctx, g));
        a.ggml_set_output(s);
        a.ggml_build_forward_expand(gf, s);
        sums.push(s);
      }
      this.alloc(gf);
      compute(this.rt, gf);
      let total = 0;
      for (const s of sums) total += getF32(this.rt, s)[0];
      return Math.sqrt(total);
    } finally {
      a.ggml_free(ctx);
    }
  }

  private alloc(g: Ptr): void {
    const a = this.rt.api;
    this.galloc ??= a.ggml_gallocr_new(this.rt.bufferType);
    if (!a.ggml_gallocr_alloc_graph(this.galloc, g)) throw new Error("ggml: could not allocate the training graph (out of memory?)");
  }

  private run(batch: GgmlTokenBatch, coef: { cLp: Float32Array; cEnt: Float32Array } | null): GgmlLogprobs {
    const a = this.rt.api;
    const { B, T, inputIds, attentionMask } = batch;
    const temperature = batch.temperature ?? 1;
    if (T < 2) throw new Error(`tokenLogprobs: need T >= 2 tokens, got ${T}`);
    if (!(temperature > 0)) throw new Error(`tokenLogprobs: temperature must be > 0, got ${temperature}`);
    const { V, L } = this.weights.dims;
    const N = B * (T - 1);
    if (coef && (coef.cLp.length !== N || coef.cEnt.length !== N)) throw new Error(`accumulate: coefficients of length ${coef.cLp.length}/${coef.cEnt.length}, expected B*(T-1) = ${N}`);
    const size = 1024 + L * (coef ? 600 : 200);
    const ctx = metaContext(this.rt, 2 * size, size);
    try {
      const bd = new Builder(this.rt, ctx);
      const { hidden, inputs } = batchGraph(bd, this.weights, inputIds, B, T, attentionMask);
      const rowsIdx = bd.input(GGML_TYPE_I32, N);
      const flatIdx = bd.input(GGML_TYPE_I32, N);
      const eps = bd.input(GGML_TYPE_F32, 1);
      const rows = new Int32Array(N);
      const flat = new Int32Array(N);
      const real = new Float32Array(N); // target t+1 is a real token
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T - 1; t++) {
          const r = b * (T - 1) + t;
          rows[r] = b * T + t;
          flat[r] = r * V + inputIds[b * T + t + 1];
          real[r] = attentionMask ? (Number(attentionMask[b * T + t]) !== 0 && Number(attentionMask[b * T + t + 1]) !== 0 ? 1 : 0) : 1;
        }
      const h = a.ggml_get_rows(ctx, hidden, rowsIdx); // [D, N]
      let z = bd.linear(this.weights.lmHead(), h); // [V, N]
      if (temperature !== 1) z = a.ggml_scale(ctx, z, 1 / temperature);
      const p = a.ggml_soft_max(ctx, z);
      const logp = a.ggml_log(ctx, a.ggml_add(ctx, p, eps)); // [V, N]
      const lp = a.ggml_get_rows(ctx, a.ggml_reshape_2d(ctx, logp, 1, V * N), flatIdx); // [1, N]
      const S = a.ggml_sum_rows(ctx, a.ggml_mul(ctx, p, logp)); // [1, N] = −H
      a.ggml_set_output(lp);
      a.ggml_set_output(S);
      const g = a.ggml_new_graph_custom(ctx, size, coef !== null);
      a.ggml_build_forward_expand(g, lp);
      a.ggml_build_forward_expand(g, S);
      let setCoef = () => {};
      if (coef) {
        const cLp = bd.input(GGML_TYPE_F32, 1, N);
        const cS = bd.input(GGML_TYPE_F32, 1, N);
        // an all-zero entropy coefficient (no entropy bonus, pre-training) leaves H out of the backward
        const lpTerm = a.ggml_sum(ctx, a.ggml_mul(ctx, lp, cLp));
        const withH = coef.cEnt.some((x) => x !== 0);
        const loss = withH ? a.ggml_add(ctx, lpTerm, a.ggml_sum(ctx, a.ggml_mul(ctx, S, cS))) : lpTerm;
        a.ggml_set_loss(loss);
        a.ggml_build_forward_expand(g, loss);
        // gradient accumulators by node index: the parameters' persistent tensors, and the loss's seed (1)
        const n = a.ggml_graph_n_nodes(g);
        const accs: Array<Tensor | null> = new Array(n).fill(null);
        const lossAddr = addr(loss);
        for (let i = 0; i < n; i++) {
          const node = a.ggml_graph_node(g, i);
          const k = addr(node);
          const name = this.paramAddr.get(k);
          if (name) accs[i] = this.grads.get(name)!;
          else if (k === lossAddr) accs[i] = this.one;
        }
        a.ggml_build_backward_expand(ctx, g, accs);
        setCoef = () => {
          setData(this.rt, cLp, mulMask(coef.cLp, real));
          if (withH) setData(this.rt, cS, mulMask(coef.cEnt, real, -1));
        };
      }
      this.alloc(g);
      setBatchInputs(this.rt, inputs);
      setData(this.rt, rowsIdx, rows);
      setData(this.rt, flatIdx, flat);
      setData(this.rt, eps, new Float32Array([LOG_EPS]));
      setCoef();
      compute(this.rt, g);
      const logprobs = getF32(this.rt, lp);
      const entropy = getF32(this.rt, S);
      for (let r = 0; r < N; r++) {
        logprobs[r] = real[r] ? logprobs[r] : 0;
        entropy[r] = real[r] ? -entropy[r] : 0;
      }
      return { logprobs, entropy };
    } finally {
      a.ggml_free(ctx);
    }
  }

  /** Gradients out as Hugging Face tensors (tests, debugging). */
  exportGrads(): WeightMap {
    const out: WeightMap = new Map();
    for (const [name, shape] of this.weights.shapes) {
      const g = this.grads.get(name);
      if (g) out.set(name, { shape: [...shape], data: getF32(this.rt, g) });
    }
    return out;
  }

  dispose(): void {
    if (this.galloc) this.rt.api.ggml_gallocr_free(this.galloc);
    this.galloc = null;
    this.state.dispose();
  }
}

function mulMask(c: Float32Array, real: Float32Array, sign = 1): Float32Array {
  const out = new Float32Array(c.length);
  for (let i = 0; i < c.length; i++) out[i] = sign * c[i] * real[i];
  return out;
}

/**
 * AdamW on a GgmlPolicy's weights with its gradient accumulators (`ggml_opt_step_adamw`, which computes, as
 * model/optim.ts and torch.optim.AdamW: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p·(1 − lr·λ) − lr·m̂/(√v̂ + ε)).
 * State exported as model/optim.ts does, keyed by Hugging Face parameter names: `exp_avg.<name>`, `exp_avg_sq.<name>`,
 * `step`.
 */
export class GgmlAdamW {
  private t = 0;
  private readonly m = new Map<string, Tensor>();
  private readonly v = new Map<string, Tensor>();
  private readonly state: Persistent;
  private readonly hp: Tensor; // decayed parameters' hyper-parameters [7]
  private readonly hpNoDecay: Tensor;
  private galloc: Ptr | null = null;

  constructor(
    readonly policy: GgmlPolicy,
    readonly config: AdamWConfig,
  ) {
    const rt = policy.rt;
    this.state = new Persistent(rt, 2 * policy.grads.size + 4);
    for (const [name, shape] of policy.weights.shapes) {
      if (!policy.grads.has(name)) continue;
      const t = policy.weights.get(name);
      this.m.set(name, this.state.like(t, shape, `m ${name}`));
      this.v.set(name, this.state.like(t, shape, `v ${name}`));
    }
    this.hp = this.state.vec(7, "adamw params");
    this.hpNoDecay = this.state.vec(7, "adamw params (no decay)");
    this.state.allocate();
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update from the accumulated gradients scaled by `gradScale` (global-norm clipping), at learning rate lr. */
  update(lr: number, gradScale = 1): void {
    const rt = this.policy.rt;
    const a = rt.api;
    const c = this.config;
    this.t += 1;
    const bc1 = 1 - Math.pow(c.beta1, this.t);
    const bc2 = 1 - Math.pow(c.beta2, this.t);
    setData(rt, this.hp, new Float32Array([lr, c.beta1, c.beta2, c.eps, c.weightDecay, 1 / bc1, 1 / bc2]));
    setData(rt, this.hpNoDecay, new Float32Array([lr, c.beta1, c.beta2, c.eps, 0, 1 / bc1, 1 / bc2]));
    const n = this.m.size;
    const size = 8 * n + 16; // per parameter: the step and scale nodes; the gradient, m, v, params leafs
    const ctx = metaContext(rt, size, size);
    try {
      const gf = a.ggml_new_graph_custom(ctx, size, false);
      for (const [name, shape] of this.policy.weights.shapes) {
        const m = this.m.get(name);
        if (!m) continue;
        let g = this.policy.grads.get(name)!;
        if (gradScale !== 1) g = a.ggml_scale(ctx, g, gradScale);
        const decays = c.decayOn === "all" || shape.length >= 2;
        a.ggml_build_forward_expand(gf, a.ggml_opt_step_adamw(ctx, this.policy.weights.get(name), g, m, this.v.get(name)!, decays ? this.hp : this.hpNoDecay));
      }
      this.galloc ??= a.ggml_gallocr_new(rt.bufferType);
      if (!a.ggml_gallocr_alloc_graph(this.galloc, gf)) throw new Error("ggml: could not allocate the optimizer graph");
      compute(rt, gf);
    } finally {
      a.ggml_free(ctx);
    }
  }

  exportState(): WeightMap {
    const rt = this.policy.rt;
    const out: WeightMap = new Map();
    for (const [prefix, store] of [["exp_avg", this.m], ["exp_avg_sq", this.v]] as const)
      for (const [name, shape] of this.policy.weights.shapes) {
        const s = store.get(name);
        if (s) out.set(`${prefix}.${name}`, { shape: [...shape], data: getF32(rt, s) });
      }
    out.set("step", { shape: [1], data: new Float32Array([this.t]) });
    return out;
  }

  importState(state: WeightMap): void {
    const rt = this.policy.rt;
    const step = state.get("step");
    if (!step || step.data.length !== 1) throw new UserError("optimizer state: missing scalar tensor `step`");
    const shapes = new Map(this.policy.weights.shapes);
    for (const [name, s] of state) {
      if (name === "step") continue;
      const dot = name.indexOf(".");
      const prefix = name.slice(0, dot);
      const key = name.slice(dot + 1);
      const store = prefix === "exp_avg" ? this.m : prefix === "exp_avg_sq" ? this.v : undefined;
      if (!store) throw new UserError(`optimizer state: unexpected tensor ${name}`);
      const shape = shapes.get(key);
      if (!shape || !store.has(key))
        throw new UserError(`optimizer state: ${name} names no parameter of this model${/^layers\.|^embed$|^norm$|^lm_head$/.test(key) ? " (a checkpoint of the TypeScript engine's trainer: resume it with RESEARCH_ENGINE=ts)" : ""}`);
      if (shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i])) throw new UserError(`optimizer state: ${name} has shape [${s.shape}], param [${shape}]`);
      setData(rt, store.get(key)!, s.data);
    }
    this.t = step.data[0];
  }

  dispose(): void {
    if (this.galloc) this.policy.rt.api.ggml_gallocr_free(this.galloc);
    this.galloc = null;
    this.state.dispose();
  }
}

/** A causal-LM batch for `lmTrainStep` (model/optim-step.ts's LmBatch: lossMask[b, t] = 1 trains token t's prediction). */
export interface GgmlLmBatch extends GgmlTokenBatch {
  lossMask?: ArrayLike<number>;
}

/**
 * One next-token cross-entropy step on ggml, as model/optim-step.ts `trainStep` on tfjs: loss = Σ −lp·w / Σ w over
 * micro-batches of rows (w = lossMask·attentionMask of each target), gradients accumulated, NaN/Inf skipped, global
 * norm clipped to `maxGradNorm` (default 1; 0 or ∞: off), AdamW at `lr`.
 */
export function lmTrainStep(policy: GgmlPolicy, optimizer: GgmlAdamW, batch: GgmlLmBatch, opts: { lr?: number; maxGradNorm?: number; microBatchSize?: number } = {}): { loss: number; gradNorm: number; skipped: boolean; tokens: number } {
  const { B, T } = batch;
  const w = new Float32Array(B * (T - 1));
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T - 1; t++) {
      const i = b * T + t + 1;
      w[b * (T - 1) + t] = (batch.lossMask ? Number(batch.lossMask[i]) : 1) * (batch.attentionMask ? Number(batch.attentionMask[i]) : 1);
    }
  const tokens = w.reduce((a, x) => a + x, 0);
  const denom = Math.max(1, tokens);
  const mb = Math.max(1, Math.min(B, opts.microBatchSize ?? B));
  policy.zeroGrad();
  let loss = 0;
  for (let s = 0; s < B; s += mb) {
    const e = Math.min(B, s + mb);
    const cLp = w.slice(s * (T - 1), e * (T - 1)).map((x) => -x / denom);
    const r = policy.accumulate(
      { inputIds: batch.inputIds.subarray(s * T, e * T), B: e - s, T, attentionMask: batch.attentionMask && Array.prototype.slice.call(batch.attentionMask, s * T, e * T), temperature: batch.temperature },
      cLp,
      new Float32Array(cLp.length),
    );
    for (let i = 0; i < cLp.length; i++) loss += r.logprobs[i] * cLp[i];
  }
  const gradNorm = policy.gradNorm();
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, skipped: true, tokens };
  const maxNorm = opts.maxGradNorm ?? 1.0;
  const scale = maxNorm > 0 && Number.isFinite(maxNorm) ? maxNorm / (gradNorm + 1e-6) : 1;
  optimizer.update(opts.lr ?? optimizer.config.lr, scale < 1 ? scale : 1);
  return { loss, gradNorm, skipped: false, tokens };
}
